"""Tables for the goals domain: organisations, partnerships (handslag) with members and areas, goals,
measurements, activities, contributions, and the general audit log.

Every editable entity has ``version`` (optimistic locking: SQLAlchemy adds ``WHERE version = :old`` to
each UPDATE and raises on a stale row), who/when columns, and soft deletion (``deleted_at``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .base import Base, utcnow


class Tracked:
    """Version, who/when and soft deletion, shared by every editable table."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(100))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}


class Organisation(Tracked, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    org_number: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    is_example: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Partnership(Tracked, Base):
    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    budget_sek: Mapped[float | None] = mapped_column(Float)
    kommun_code: Mapped[str | None] = mapped_column(String(4))
    is_example: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class PartnershipArea(Base):
    """An area of a partnership: DeSO/RegSO of a division, a Police-list area (division Police<year>), kommun."""

    __tablename__ = "partnership_areas"
    __table_args__ = (UniqueConstraint("partnership_id", "code", "division"),
                      Index("ix_partnership_areas_code", "code", "division"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # deso, regso, police, kommun
    name: Mapped[str | None] = mapped_column(String(200))


class PartnershipMember(Base):
    __tablename__ = "partnership_members"
    __table_args__ = (UniqueConstraint("partnership_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))


class Goal(Tracked, Base):
    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # statistic, partner_reported
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    measure: Mapped[str] = mapped_column(String(8), nullable=False, default="level")
    baseline_value: Mapped[float] = mapped_column(Float, nullable=False)
    baseline_year: Mapped[int] = mapped_column(Integer, nullable=False)
    target_value: Mapped[float] = mapped_column(Float, nullable=False)
    target_year: Mapped[int] = mapped_column(Integer, nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    indicator: Mapped[str | None] = mapped_column(String(64), index=True)
    aggregation: Mapped[str | None] = mapped_column(String(16))
    denominator_indicator: Mapped[str | None] = mapped_column(String(64))
    areas: Mapped[list | None] = mapped_column(JSON)  # [{code, division, name}] or null = the partnership's
    responsible_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    trajectory: Mapped[str] = mapped_column(String(16), nullable=False, default="linear")
    trajectory_points: Mapped[list | None] = mapped_column(JSON)
    source_note: Mapped[str | None] = mapped_column(Text)
    is_example: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Measurement(Tracked, Base):
    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_goal_period", "goal_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # scb, kolada, survey, manual
    evidence_note: Mapped[str | None] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="draft", index=True)
    entered_by: Mapped[str | None] = mapped_column(String(100))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))  # who approved or rejected
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    from_statistics: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    provenance: Mapped[dict | None] = mapped_column(JSON)


class Activity(Tracked, Base):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), nullable=False, index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    budget_sek: Mapped[float | None] = mapped_column(Float)
    spent_sek: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="planned")
    outputs: Mapped[list | None] = mapped_column(JSON)  # [{name, value, unit}]
    is_example: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ActivityGoal(Base):
    __tablename__ = "activity_goals"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True)


class Contribution(Tracked, Base):
    """One entry of a partner's contribution ledger (money, staff hours, in kind), dated."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), nullable=False, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    value_sek: Mapped[float | None] = mapped_column(Float)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    is_example: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AuditEntry(Base):
    """Who changed what, when, with the entity's state before and after (any domain may write here)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)  # create, update, delete, submit, approve…
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    context: Mapped[dict | None] = mapped_column(JSON)  # e.g. {"via": "api", "request": "PATCH /goals/3"}
