"""Tables for the operations domain: property register, work orders, duty rosters, superförvaltning KPIs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Property(Base):
    """A property (building/address) from a landlord's register, placed in DeSO/RegSO by point-in-polygon."""

    __tablename__ = "properties"
    __table_args__ = (
        Index("ix_properties_deso", "deso_code", "deso_division"),
        Index("ix_properties_regso", "regso_code", "regso_division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    property_ref: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    flats: Mapped[int | None] = mapped_column(Integer)
    x_sweref: Mapped[float] = mapped_column(Float, nullable=False)  # EPSG:3006 easting
    y_sweref: Mapped[float] = mapped_column(Float, nullable=False)  # EPSG:3006 northing
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    deso_code: Mapped[str | None] = mapped_column(String(32))
    deso_division: Mapped[str | None] = mapped_column(String(16))
    regso_code: Mapped[str | None] = mapped_column(String(32))
    regso_division: Mapped[str | None] = mapped_column(String(16))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class WorkOrderCategory(Base):
    """A work-order category and its promised time to resolve (SLA)."""

    __tablename__ = "work_order_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name_sv: Mapped[str | None] = mapped_column(String(200))
    sla_hours: Mapped[float] = mapped_column(Float, nullable=False, default=24.0)


class WorkOrder(Base):
    """A work order or incident (graffiti, vandalism, littering, broken lock…)."""

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("source", "order_ref"),
        Index("ix_work_orders_deso", "deso_code", "deso_division"),
        Index("ix_work_orders_regso", "regso_code", "regso_division"),
        Index("ix_work_orders_area", "area_code", "area_division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100), nullable=False, default="default")
    order_ref: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    property_ref: Mapped[str | None] = mapped_column(String(64))
    x_sweref: Mapped[float | None] = mapped_column(Float)
    y_sweref: Mapped[float | None] = mapped_column(Float)
    area_code: Mapped[str | None] = mapped_column(String(32))  # as given in the file (any level)
    area_division: Mapped[str | None] = mapped_column(String(16))
    deso_code: Mapped[str | None] = mapped_column(String(32))
    deso_division: Mapped[str | None] = mapped_column(String(16))
    regso_code: Mapped[str | None] = mapped_column(String(32))
    regso_division: Mapped[str | None] = mapped_column(String(16))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class DutyShift(Base):
    """Planned and covered hours of one role (e.g. trygghetsvärd) in one area on one day."""

    __tablename__ = "duty_shifts"
    __table_args__ = (UniqueConstraint("area_code", "division", "day", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    role: Mapped[str] = mapped_column(String(64), nullable=False)
    planned_hours: Mapped[float] = mapped_column(Float, nullable=False)
    covered_hours: Mapped[float] = mapped_column(Float, nullable=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class OperationalKpi(Base):
    """A configurable KPI definition (the eight superförvaltning factors and any others)."""

    __tablename__ = "kpi_definitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    factor: Mapped[int | None] = mapped_column(Integer)  # 1–8: superförvaltning factor
    name_sv: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False, default="up")  # up, down, none
    measure: Mapped[str] = mapped_column(String(40), nullable=False, default="manual")
    categories: Mapped[str | None] = mapped_column(String(400))  # work-order categories joined by "|"
    role: Mapped[str | None] = mapped_column(String(64))  # roster role
    target: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class KpiValue(Base):
    """A reported (manual) value of a KPI for one area and period (``2024``, ``2024Q1`` or ``2024-03``)."""

    __tablename__ = "kpi_values"
    __table_args__ = (UniqueConstraint("kpi_id", "area_code", "division", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi_definitions.id", ondelete="CASCADE"), nullable=False)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(120), nullable=False, default="manual")
    entered_by: Mapped[str | None] = mapped_column(String(100))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class KpiGoalLink(Base):
    """Link from a KPI (optionally for one area) to a partnership goal (``goal_id`` of the goals domain)."""

    __tablename__ = "kpi_goal_links"
    __table_args__ = (UniqueConstraint("kpi_id", "goal_id", "area_code", "division"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi_definitions.id", ondelete="CASCADE"), nullable=False)
    goal_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    area_code: Mapped[str | None] = mapped_column(String(32))
    division: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
