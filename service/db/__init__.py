"""Persistence: engine, typed table mapping and queries (a session in, rows out)."""
