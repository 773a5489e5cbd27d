"""Tables for the surveys domain: instruments, questions, waves, respondents, answers, aggregated results.

Respondent ids are stored only as a keyed hash (``respondent_key``) and free-text answers are never stored;
neither ever leaves the store.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class SurveyInstrument(Base):
    """A questionnaire: its questions, scales and indices."""

    __tablename__ = "survey_instruments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100))

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="instrument", cascade="all, delete-orphan", order_by="SurveyQuestion.position")


class SurveyQuestion(Base):
    """One question of an instrument (``code`` is the question id used in files)."""

    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("instrument_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("survey_instruments.id", ondelete="CASCADE"),
                                               nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    code: Mapped[str] = mapped_column(String(100), nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="scale")  # scale, text
    scale_min: Mapped[int | None] = mapped_column(Integer)
    scale_max: Mapped[int | None] = mapped_column(Integer)
    direction: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # 1 higher is better, -1 lower
    indices: Mapped[str | None] = mapped_column(String(400))  # index names joined by "|"
    positive_codes: Mapped[str | None] = mapped_column(String(200))  # "3|4"; NULL = default
    dont_know_codes: Mapped[str | None] = mapped_column(String(200))  # "9|99"
    labels: Mapped[dict | None] = mapped_column(JSON)

    instrument: Mapped[SurveyInstrument] = relationship(back_populates="questions")


class SurveyWave(Base):
    """One round of a survey (fieldwork dates, sample, respondents)."""

    __tablename__ = "survey_waves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("survey_instruments.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    fielded_on: Mapped[date] = mapped_column(Date, nullable=False)
    fielded_to: Mapped[date | None] = mapped_column(Date)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    respondents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str | None] = mapped_column(String(16))  # respondents, aggregated (set by the first import)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100))


class SurveyWaveArea(Base):
    """An area covered by a wave, with its sample size (if known) and number of respondents."""

    __tablename__ = "survey_wave_areas"
    __table_args__ = (UniqueConstraint("wave_id", "area_code", "division"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"), nullable=False)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    respondents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class SurveyRespondent(Base):
    """A respondent of a wave: area, weight and the cells used for weighting. The id is a keyed hash."""

    __tablename__ = "survey_respondents"
    __table_args__ = (
        UniqueConstraint("wave_id", "respondent_key"),
        Index("ix_survey_respondents_wave_area", "wave_id", "area_code", "division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"), nullable=False)
    respondent_key: Mapped[str] = mapped_column(String(40), nullable=False)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    sex: Mapped[str | None] = mapped_column(String(16))
    age_group: Mapped[str | None] = mapped_column(String(32))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class SurveyAnswer(Base):
    """One answer code (a scale value or a don't-know code) of one respondent to one question.

    The largest table (a million rows per big wave), so it has its primary key but no foreign-key
    constraints: per-row constraint triggers made a bulk load into PostgreSQL about eight times slower.
    Integrity is kept by ``handslag.store.surveys_repo``: answers are written only by an import, in the
    same transaction as their respondents, with question ids of the wave's instrument, and are deleted
    together with their wave (``delete_wave``); an instrument with answers cannot be changed.
    """

    __tablename__ = "survey_answers"

    respondent_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # survey_respondents.id
    question_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # survey_questions.id
    value: Mapped[float] = mapped_column(Float, nullable=False)


class SurveyAggregate(Base):
    """An already aggregated result: share positive (0–100) and n for one question and area."""

    __tablename__ = "survey_aggregates"
    __table_args__ = (UniqueConstraint("wave_id", "area_code", "division", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"), nullable=False)
    area_code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    division: Mapped[str] = mapped_column(String(16), nullable=False)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"), nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    n_positive: Mapped[float | None] = mapped_column(Float)
    share_positive: Mapped[float] = mapped_column(Float, nullable=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
