"""Areas, crosswalks, observations, imports and the Police list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
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
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Area(Base):
    """A statistical or administrative area in one division (DeSO2025, RegSO2020, kommun, lan…)."""

    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("code", "division"),
        Index("ix_areas_kommun_level", "kommun_code", "level", "division"),
        Index("ix_areas_parent", "parent_code", "parent_division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)  # deso, regso, kommun, lan, riket
    name: Mapped[str | None] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    parent_division: Mapped[str | None] = mapped_column(String(16))
    kommun_code: Mapped[str | None] = mapped_column(String(4), index=True)
    lan_code: Mapped[str | None] = mapped_column(String(2))
    geometry_wgs84: Mapped[bytes | None] = mapped_column(LargeBinary)  # WKB, EPSG:4326
    geometry_sweref: Mapped[bytes | None] = mapped_column(LargeBinary)  # WKB, EPSG:3006
    geometry_source: Mapped[str | None] = mapped_column(String(200))
    geometry_simplified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    area_km2: Mapped[float | None] = mapped_column(Float)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class AreaLink(Base):
    """Crosswalk between two divisions computed by polygon overlay (or from a published key)."""

    __tablename__ = "area_links"
    __table_args__ = (UniqueConstraint("from_code", "from_division", "to_code", "to_division"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_code: Mapped[str] = mapped_column(String(32), nullable=False)
    from_division: Mapped[str] = mapped_column(String(16), nullable=False)
    to_code: Mapped[str] = mapped_column(String(32), nullable=False)
    to_division: Mapped[str] = mapped_column(String(16), nullable=False)
    share_of_from: Mapped[float] = mapped_column(Float, nullable=False)  # overlap / area(from)
    share_of_to: Mapped[float] = mapped_column(Float, nullable=False)  # overlap / area(to)
    relation: Mapped[str] = mapped_column(String(8), nullable=False)  # same, split, merge, partial
    method: Mapped[str] = mapped_column(String(32), nullable=False, default="overlay")


class ImportLog(Base):
    """One row per import attempt (successful or not)."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    file_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    user: Mapped[str | None] = mapped_column(String(100))
    counts: Mapped[dict | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)


class Observation(Base):
    """A statistic for one area, indicator and year (tidy)."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("area_code", "division", "indicator", "year", "source"),
        Index("ix_observations_indicator_year", "indicator", "year", "division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    indicator: Mapped[str] = mapped_column(String(64), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120), nullable=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class PoliceArea(Base):
    """One area of one edition of the Police's list of vulnerable areas (utsatta områden)."""

    __tablename__ = "police_areas"
    __table_args__ = (UniqueConstraint("edition", "panel_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    panel_id: Mapped[int | None] = mapped_column(Integer)  # harmonised id across editions
    special_id: Mapped[int | None] = mapped_column(Integer)  # Polisen's specialområdes-id
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    panel_name: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20), nullable=False)  # utsatt, risk, sarskilt_utsatt
    municipality: Mapped[str | None] = mapped_column(String(100))
    kommun_code: Mapped[str | None] = mapped_column(String(4))
    geometry_wgs84: Mapped[bytes | None] = mapped_column(LargeBinary)
    geometry_sweref: Mapped[bytes | None] = mapped_column(LargeBinary)
    geometry_source: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class PoliceAreaOverlap(Base):
    """Share of a DeSO/RegSO inside a Police-list area (polygon overlay)."""

    __tablename__ = "police_area_overlaps"
    __table_args__ = (UniqueConstraint("police_area_id", "area_code", "division"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    police_area_id: Mapped[int] = mapped_column(ForeignKey("police_areas.id", ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(String(32), nullable=False)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    share_of_area: Mapped[float] = mapped_column(Float, nullable=False)
    share_of_police_area: Mapped[float] = mapped_column(Float, nullable=False)
