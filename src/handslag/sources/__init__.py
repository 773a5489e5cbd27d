"""Connectors that read external data and return validated frames (no database access here)."""
