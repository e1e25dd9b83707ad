"""API tests: the HTTP app with real tokens."""
