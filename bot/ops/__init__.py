"""Operator commands behind `python -m bot <command>`: health check, backup, key rotation, heartbeat."""
