"""Integration tests: services on a real PostgreSQL."""
