"""goals domain: organisations, partnerships with members and areas, goals, measurements, activities,
contributions and the general audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand from ``handslag.store.models.goals`` (constraint names follow the naming convention of
``models/base.py``, so autogenerate sees no difference).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tracked() -> list[sa.Column]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_by", sa.String(length=100), nullable=True),
    ]


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{ref_table}"),
                                   ondelete=ondelete)


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "at")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("org_number", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    _index("organisations", "name")

    op.create_table(
        "partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("budget_sek", sa.Float(), nullable=True),
        sa.Column("kommun_code", sa.String(length=4), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnerships")),
    )
    _index("partnerships", "name")

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("budget_sek", sa.Float(), nullable=True),
        sa.Column("spent_sek", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        *_tracked(),
        _fk("activities", "organisation_id", "organisations.id"),
        _fk("activities", "partnership_id", "partnerships.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    _index("activities", "partnership_id")

    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("measure", sa.String(length=8), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=False),
        sa.Column("baseline_year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_year", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=True),
        sa.Column("aggregation", sa.String(length=16), nullable=True),
        sa.Column("denominator_indicator", sa.String(length=64), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.Column("responsible_organisation_id", sa.Integer(), nullable=True),
        sa.Column("trajectory", sa.String(length=16), nullable=False),
        sa.Column("trajectory_points", sa.JSON(), nullable=True),
        sa.Column("source_note", sa.Text(), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        *_tracked(),
        _fk("goals", "partnership_id", "partnerships.id"),
        _fk("goals", "responsible_organisation_id", "organisations.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    _index("goals", "indicator")
    _index("goals", "partnership_id")

    op.create_table(
        "partnership_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        _fk("partnership_areas", "partnership_id", "partnerships.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_areas")),
        sa.UniqueConstraint("partnership_id", "code", "division",
                            name=op.f("uq_partnership_areas_partnership_id_code_division")),
    )
    with op.batch_alter_table("partnership_areas", schema=None) as batch_op:
        batch_op.create_index("ix_partnership_areas_code", ["code", "division"], unique=False)

    op.create_table(
        "partnership_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _fk("partnership_members", "organisation_id", "organisations.id"),
        _fk("partnership_members", "partnership_id", "partnerships.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_members")),
        sa.UniqueConstraint("partnership_id", "organisation_id",
                            name=op.f("uq_partnership_members_partnership_id_organisation_id")),
    )
    _index("partnership_members", "organisation_id")

    op.create_table(
        "activity_goals",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        _fk("activity_goals", "activity_id", "activities.id", ondelete="CASCADE"),
        _fk("activity_goals", "goal_id", "goals.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("activity_id", "goal_id", name=op.f("pk_activity_goals")),
    )

    op.create_table(
        "contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("value_sek", sa.Float(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        *_tracked(),
        _fk("contributions", "activity_id", "activities.id"),
        _fk("contributions", "organisation_id", "organisations.id"),
        _fk("contributions", "partnership_id", "partnerships.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
    )
    _index("contributions", "organisation_id")
    _index("contributions", "partnership_id")

    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("evidence_note", sa.Text(), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_type", sa.String(length=100), nullable=True),
        sa.Column("attachment_sha256", sa.String(length=64), nullable=True),
        sa.Column("attachment_data", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("entered_by", sa.String(length=100), nullable=True),
        sa.Column("submitted_by", sa.String(length=100), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("from_statistics", sa.Boolean(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=True),
        *_tracked(),
        _fk("measurements", "goal_id", "goals.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
    )
    _index("measurements", "state")
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index("ix_measurements_goal_period", ["goal_id", "period"], unique=False)


def downgrade() -> None:
    for table in ("measurements", "contributions", "activity_goals", "partnership_members", "partnership_areas",
                  "goals", "activities", "partnerships", "organisations", "audit_log"):
        op.drop_table(table)
