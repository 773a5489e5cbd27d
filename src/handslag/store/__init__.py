"""Storage adapter: SQLAlchemy models, engine/session, migrations and repositories.

This is the only package that knows SQL.
"""
