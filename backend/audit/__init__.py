"""Audit trail: append-only events, each carrying the hash of the one before it."""
