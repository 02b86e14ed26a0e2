"""Inline keyboards and the command menu; button texts come from the catalogs."""
