"""Per-update plumbing: who the user is, their language, QIWI failures as replies, flood control."""
