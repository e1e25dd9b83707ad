"""Database engine, sessions and the embedded PostgreSQL used when no DATABASE_URL is set."""
