"""The store: migrations create every table on both backends; SQLite pragmas are set."""

from __future__ import annotations

from sqlalchemy import inspect, text

from handslag.store.models import Base


def test_migrations_create_every_model_table(db):
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_sqlite_uses_wal_and_foreign_keys(sqlite_db):
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrations_match_the_models(db):
    """Alembic's autogenerate finds nothing to add: the migrations create exactly what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_registry_is_seeded_on_a_new_database(db):
    from handslag.store.models import Area

    with db.session() as s:
        levels = sorted(s.execute(text("select level, count(*) from areas group by level")).all())
        gbg = s.get(Area, s.execute(text("select id from areas where code='1480' and division='kommun'")).scalar())
    assert levels == [("kommun", 290), ("lan", 21), ("riket", 1)]
    assert gbg.name == "Göteborg" and gbg.parent_code == "14" and gbg.parent_division == "lan"
