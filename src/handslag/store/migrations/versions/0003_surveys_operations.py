"""surveys and operations: instruments, waves, respondents, answers, aggregated results; properties,
work orders, SLA per category, duty rosters, superförvaltning KPI definitions, values and goal links

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23

Written by hand from ``handslag.store.models.surveys`` and ``handslag.store.models.operations`` (constraint
names follow the naming convention of ``models/base.py``, so autogenerate sees no difference). Dropping a
table drops its indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("factor", sa.Integer(), nullable=True),
        sa.Column("name_sv", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("categories", sa.String(length=400), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_definitions")),
        sa.UniqueConstraint("code", name=op.f("uq_kpi_definitions_code")),
    )
    op.create_table(
        "survey_instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_instruments")),
        sa.UniqueConstraint("name", name=op.f("uq_survey_instruments_name")),
    )
    op.create_table(
        "work_order_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_sv", sa.String(length=200), nullable=True),
        sa.Column("sla_hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_work_order_categories_code")),
    )
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("planned_hours", sa.Float(), nullable=False),
        sa.Column("covered_hours", sa.Float(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_duty_shifts_import_id_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
        sa.UniqueConstraint(
            "area_code", "division", "day", "role", name=op.f("uq_duty_shifts_area_code_division_day_role")
        ),
    )
    op.create_index(op.f("ix_duty_shifts_area_code"), "duty_shifts", ["area_code"], unique=False)
    op.create_table(
        "kpi_goal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=True),
        sa.Column("division", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpi_definitions.id"],
            name=op.f("fk_kpi_goal_links_kpi_id_kpi_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_goal_links")),
        sa.UniqueConstraint(
            "kpi_id",
            "goal_id",
            "area_code",
            "division",
            name=op.f("uq_kpi_goal_links_kpi_id_goal_id_area_code_division"),
        ),
    )
    op.create_index(op.f("ix_kpi_goal_links_goal_id"), "kpi_goal_links", ["goal_id"], unique=False)
    op.create_table(
        "kpi_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("entered_by", sa.String(length=100), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_kpi_values_import_id_imports")),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpi_definitions.id"], name=op.f("fk_kpi_values_kpi_id_kpi_definitions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_values")),
        sa.UniqueConstraint(
            "kpi_id", "area_code", "division", "period", name=op.f("uq_kpi_values_kpi_id_area_code_division_period")
        ),
    )
    op.create_index(op.f("ix_kpi_values_area_code"), "kpi_values", ["area_code"], unique=False)
    op.create_table(
        "properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_ref", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("flats", sa.Integer(), nullable=True),
        sa.Column("x_sweref", sa.Float(), nullable=False),
        sa.Column("y_sweref", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("deso_code", sa.String(length=32), nullable=True),
        sa.Column("deso_division", sa.String(length=16), nullable=True),
        sa.Column("regso_code", sa.String(length=32), nullable=True),
        sa.Column("regso_division", sa.String(length=16), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_properties_import_id_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_properties")),
        sa.UniqueConstraint("property_ref", name=op.f("uq_properties_property_ref")),
    )
    op.create_index("ix_properties_deso", "properties", ["deso_code", "deso_division"], unique=False)
    op.create_index("ix_properties_regso", "properties", ["regso_code", "regso_division"], unique=False)
    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scale_min", sa.Integer(), nullable=True),
        sa.Column("scale_max", sa.Integer(), nullable=True),
        sa.Column("direction", sa.Integer(), nullable=False),
        sa.Column("indices", sa.String(length=400), nullable=True),
        sa.Column("positive_codes", sa.String(length=200), nullable=True),
        sa.Column("dont_know_codes", sa.String(length=200), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["survey_instruments.id"],
            name=op.f("fk_survey_questions_instrument_id_survey_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
        sa.UniqueConstraint("instrument_id", "code", name=op.f("uq_survey_questions_instrument_id_code")),
    )
    op.create_table(
        "survey_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fielded_on", sa.Date(), nullable=False),
        sa.Column("fielded_to", sa.Date(), nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["survey_instruments.id"], name=op.f("fk_survey_waves_instrument_id_survey_instruments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_waves")),
        sa.UniqueConstraint("name", name=op.f("uq_survey_waves_name")),
    )
    op.create_index(op.f("ix_survey_waves_instrument_id"), "survey_waves", ["instrument_id"], unique=False)
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("order_ref", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("property_ref", sa.String(length=64), nullable=True),
        sa.Column("x_sweref", sa.Float(), nullable=True),
        sa.Column("y_sweref", sa.Float(), nullable=True),
        sa.Column("area_code", sa.String(length=32), nullable=True),
        sa.Column("area_division", sa.String(length=16), nullable=True),
        sa.Column("deso_code", sa.String(length=32), nullable=True),
        sa.Column("deso_division", sa.String(length=16), nullable=True),
        sa.Column("regso_code", sa.String(length=32), nullable=True),
        sa.Column("regso_division", sa.String(length=16), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_work_orders_import_id_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("source", "order_ref", name=op.f("uq_work_orders_source_order_ref")),
    )
    op.create_index("ix_work_orders_area", "work_orders", ["area_code", "area_division"], unique=False)
    op.create_index(op.f("ix_work_orders_category"), "work_orders", ["category"], unique=False)
    op.create_index("ix_work_orders_deso", "work_orders", ["deso_code", "deso_division"], unique=False)
    op.create_index("ix_work_orders_regso", "work_orders", ["regso_code", "regso_division"], unique=False)
    op.create_table(
        "survey_aggregates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_positive", sa.Float(), nullable=True),
        sa.Column("share_positive", sa.Float(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_survey_aggregates_import_id_imports")),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_aggregates_question_id_survey_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["survey_waves.id"], name=op.f("fk_survey_aggregates_wave_id_survey_waves"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_aggregates")),
        sa.UniqueConstraint(
            "wave_id",
            "area_code",
            "division",
            "question_id",
            name=op.f("uq_survey_aggregates_wave_id_area_code_division_question_id"),
        ),
    )
    op.create_index(op.f("ix_survey_aggregates_area_code"), "survey_aggregates", ["area_code"], unique=False)
    op.create_table(
        "survey_respondents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("respondent_key", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("age_group", sa.String(length=32), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_survey_respondents_import_id_imports")),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["survey_waves.id"],
            name=op.f("fk_survey_respondents_wave_id_survey_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_respondents")),
        sa.UniqueConstraint("wave_id", "respondent_key", name=op.f("uq_survey_respondents_wave_id_respondent_key")),
    )
    op.create_index(
        "ix_survey_respondents_wave_area", "survey_respondents", ["wave_id", "area_code", "division"], unique=False
    )
    op.create_table(
        "survey_wave_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["survey_waves.id"], name=op.f("fk_survey_wave_areas_wave_id_survey_waves"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_wave_areas")),
        sa.UniqueConstraint(
            "wave_id", "area_code", "division", name=op.f("uq_survey_wave_areas_wave_id_area_code_division")
        ),
    )
    op.create_index(op.f("ix_survey_wave_areas_area_code"), "survey_wave_areas", ["area_code"], unique=False)
    op.create_table(
        "survey_answers",
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        # no foreign keys on this bulk table (see SurveyAnswer's docstring)
        sa.PrimaryKeyConstraint("respondent_id", "question_id", name=op.f("pk_survey_answers")),
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("survey_respondents")
    op.drop_table("survey_aggregates")
    op.drop_table("survey_wave_areas")
    op.drop_table("survey_waves")
    op.drop_table("survey_questions")
    op.drop_table("survey_instruments")
    op.drop_table("kpi_goal_links")
    op.drop_table("kpi_values")
    op.drop_table("kpi_definitions")
    op.drop_table("duty_shifts")
    op.drop_table("work_orders")
    op.drop_table("work_order_categories")
    op.drop_table("properties")
