"""The benchmark of the bot as a process: `python -m bench` (see bench/README.md). Not part of CI's tests."""
