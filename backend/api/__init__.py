"""Supervisor, HR and admin API (the web console talks to it too)."""
