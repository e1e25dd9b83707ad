"""Backups that restore: one archive holding a pg_dump of the database and the files folder (laptop mode)."""
