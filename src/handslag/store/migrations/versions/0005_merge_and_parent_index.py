"""Merge the domain branches (goals, surveys/operations, accounts) and index areas by parent.

Revision ID: 0005
Revises: 0002, 0003, 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = ("0002", "0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_areas_parent", "areas", ["parent_code", "parent_division"])


def downgrade() -> None:
    op.drop_index("ix_areas_parent", table_name="areas")
