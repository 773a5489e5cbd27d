"""Validated shapes of the goals domain (pydantic): used by the API, the Excel import and the store.

``*In`` models are what a client sends to create an entity; ``*Patch`` models have every field optional
(and no immutable fields) and are merged onto the current state, which is validated again as an ``*In``
model, so a PATCH can never produce a state that a POST could not. ``*Out`` models add the id, the
version (also sent as ETag) and who/when.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from .periods import parse_period
from .progress import GoalSpec
from .vocab import (
    CONTRIBUTION_UNITS,
    ActivityStatus,
    Aggregation,
    ContributionKind,
    Direction,
    GoalKind,
    Measure,
    MeasurementSource,
    MeasurementState,
    MemberRole,
    OrganisationType,
    TrajectoryShape,
    Unit,
)

DESO = re.compile(r"^\d{4}[ABC]\d{4}$")
REGSO = re.compile(r"^\d{4}R\d{3}$")
KOMMUN = re.compile(r"^\d{4}$")
DIVISION = re.compile(r"^(DeSO(2018|2025)|RegSO(2020|2025)|Police(\d{4})|kommun)$")

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str | None, Field(default=None, max_length=10_000)]
Year = Annotated[int, Field(ge=1960, le=2100)]
Money = Annotated[float | None, Field(default=None, ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True,
                              validate_default=True)


def area_kind(division: str) -> str:
    """deso, regso, police or kommun."""
    if division.startswith("DeSO"):
        return "deso"
    if division.startswith("RegSO"):
        return "regso"
    if division.startswith("Police"):
        return "police"
    return "kommun"


class AreaRef(_Model):
    """An area of a partnership or goal: a DeSO or RegSO of a given division, a Police-list area
    (``division`` = ``Police<edition year>``, ``code`` = the Police's area id), or a kommun."""

    code: Annotated[str, Field(min_length=1, max_length=32)]
    division: Annotated[str, Field(description="DeSO2018, DeSO2025, RegSO2020, RegSO2025, Police2023 …, kommun")]
    name: Annotated[str | None, Field(default=None, max_length=200)] = None

    @model_validator(mode="after")
    def _check(self) -> AreaRef:
        if not DIVISION.match(self.division):
            raise ValueError(f"division {self.division!r} is not DeSO2018/DeSO2025/RegSO2020/RegSO2025/"
                             "Police<year>/kommun")
        kind = area_kind(self.division)
        pattern = {"deso": DESO, "regso": REGSO, "kommun": KOMMUN}.get(kind)
        if pattern is not None and not pattern.match(self.code):
            raise ValueError(f"{self.code!r} is not a valid {kind} code")
        return self


def _unique_areas(areas: list[AreaRef] | None) -> None:
    if not areas:
        return
    keys = [(a.code, a.division) for a in areas]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        raise ValueError(f"areas listed twice: {', '.join(f'{c} ({d})' for c, d in dups)}")


# --- organisations --------------------------------------------------------------------------------------

class OrganisationIn(_Model):
    name: Name
    type: OrganisationType
    org_number: Annotated[str | None, Field(default=None, pattern=r"^\d{6}-?\d{4}$",
                                            description="Swedish organisation number")] = None
    description: Text = None
    is_example: bool = False


# --- partnerships ---------------------------------------------------------------------------------------

class MemberIn(_Model):
    organisation_id: int
    role: MemberRole = MemberRole.partner
    note: Annotated[str | None, Field(default=None, max_length=500)] = None


class PartnershipIn(_Model):
    name: Name
    description: Text = None
    period_start: date
    period_end: date
    budget_sek: Money = Field(default=None, description="Shared budget of the partnership, SEK")
    kommun_code: Annotated[str | None, Field(default=None, pattern=r"^\d{4}$")] = None
    areas: list[AreaRef] = Field(default_factory=list)
    members: list[MemberIn] = Field(default_factory=list)
    is_example: bool = False

    @model_validator(mode="after")
    def _check(self) -> PartnershipIn:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        _unique_areas(self.areas)
        orgs = [m.organisation_id for m in self.members]
        if len(orgs) != len(set(orgs)):
            raise ValueError("an organisation is listed twice among the members")
        return self


# --- goals ----------------------------------------------------------------------------------------------

class TrajectoryPoint(_Model):
    year: float
    value: float


class GoalIn(_Model):
    partnership_id: int
    title: Name
    description: Text = None
    kind: GoalKind
    unit: Unit
    measure: Measure = Field(default=Measure.level, description="level, or change since the baseline year")
    baseline_value: float
    baseline_year: Year
    target_value: float
    target_year: Year
    direction: Direction | None = Field(default=None, description="inferred from baseline → target when omitted")
    indicator: Annotated[str | None, Field(default=None, max_length=64)] = None
    aggregation: Aggregation | None = Field(default=None, description="default by unit")
    denominator_indicator: Annotated[str | None, Field(default=None, max_length=64)] = None
    areas: list[AreaRef] | None = Field(default=None, description="the partnership's areas when omitted")
    responsible_organisation_id: int | None = None
    trajectory: TrajectoryShape = TrajectoryShape.linear
    trajectory_points: list[TrajectoryPoint] = Field(default_factory=list)
    source_note: Text = None
    is_example: bool = False

    @model_validator(mode="after")
    def _check(self) -> GoalIn:
        if self.direction is None and self.target_value != self.baseline_value:
            self.direction = (Direction.increase if self.target_value > self.baseline_value
                              else Direction.decrease).value
        GoalSpec(self.baseline_value, self.baseline_year, self.target_value, self.target_year,
                 self.direction or Direction.increase, self.trajectory,
                 tuple((p.year, p.value) for p in self.trajectory_points))
        if self.kind == GoalKind.statistic and not self.indicator:
            raise ValueError("a statistic-linked goal needs an indicator")
        if self.measure == Measure.change and self.baseline_value != 0:
            raise ValueError("a goal measured as change since the baseline has baseline_value 0")
        if self.trajectory != TrajectoryShape.custom and self.trajectory_points:
            raise ValueError("trajectory_points are only used with the custom trajectory")
        _unique_areas(self.areas)
        return self

    def spec(self) -> GoalSpec:
        return GoalSpec(self.baseline_value, self.baseline_year, self.target_value, self.target_year,
                        self.direction, self.trajectory, tuple((p.year, p.value) for p in self.trajectory_points))


# --- measurements ---------------------------------------------------------------------------------------

class MeasurementIn(_Model):
    goal_id: int
    period: Annotated[str, Field(description="2024, 2024-Q3, 2024-H1, 2024-06 or 2024-06-30")]
    value: float
    source: MeasurementSource = MeasurementSource.manual
    evidence_note: Text = None

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: Any) -> str:
        if isinstance(v, int | float) and float(v).is_integer():
            v = str(int(v))
        return parse_period(str(v)).label


class DecisionIn(_Model):
    reason: Annotated[str | None, Field(default=None, max_length=2000)] = None


# --- activities -----------------------------------------------------------------------------------------

class OutputIn(_Model):
    name: Annotated[str, Field(min_length=1, max_length=200, description='e.g. "summer jobs offered"')]
    value: float
    unit: Annotated[str | None, Field(default=None, max_length=40)] = None


class ActivityIn(_Model):
    partnership_id: int
    organisation_id: int | None = None
    title: Name
    description: Text = None
    start_date: date
    end_date: date | None = None
    budget_sek: Money = None
    spent_sek: Money = None
    status: ActivityStatus = ActivityStatus.planned
    goal_ids: list[int] = Field(default_factory=list)
    outputs: list[OutputIn] = Field(default_factory=list)
    is_example: bool = False

    @model_validator(mode="after")
    def _check(self) -> ActivityIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if len(set(self.goal_ids)) != len(self.goal_ids):
            raise ValueError("a goal is linked twice")
        return self


# --- contributions --------------------------------------------------------------------------------------

class ContributionIn(_Model):
    partnership_id: int
    organisation_id: int
    activity_id: int | None = None
    kind: ContributionKind
    amount: Annotated[float, Field(gt=0)]
    unit: Annotated[str | None, Field(default=None, max_length=20, description="SEK, hours … (default by kind)")] = None
    value_sek: Money = Field(default=None, description="Value in SEK (for hours and in-kind)")
    date: date
    description: Text = None
    is_example: bool = False

    @model_validator(mode="after")
    def _check(self) -> ContributionIn:
        if self.unit is None:
            self.unit = CONTRIBUTION_UNITS[ContributionKind(self.kind)]
        if self.kind == ContributionKind.money and self.unit != "SEK":
            raise ValueError("money contributions are in SEK")
        if self.kind == ContributionKind.money and self.value_sek is None:
            self.value_sek = self.amount
        return self


# --- partial (PATCH) models -----------------------------------------------------------------------------

IMMUTABLE = {"GoalIn": {"partnership_id"}, "MeasurementIn": {"goal_id"}, "ActivityIn": {"partnership_id"},
             "ContributionIn": {"partnership_id"}}


def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """The model with every field optional and the immutable fields removed (for PATCH)."""
    skip = IMMUTABLE.get(model.__name__, set())
    fields = {name: (f.annotation | None, Field(default=None, description=f.description))
              for name, f in model.model_fields.items() if name not in skip}
    return create_model(model.__name__.removesuffix("In") + "Patch", __config__=ConfigDict(extra="forbid"),
                        **fields)


OrganisationPatch = partial_model(OrganisationIn)
PartnershipPatch = partial_model(PartnershipIn)
GoalPatch = partial_model(GoalIn)
MeasurementPatch = partial_model(MeasurementIn)
ActivityPatch = partial_model(ActivityIn)
ContributionPatch = partial_model(ContributionIn)


# --- output models --------------------------------------------------------------------------------------

class _Meta(BaseModel):
    id: int
    version: int
    created_at: datetime
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    deleted_at: datetime | None = None


class OrganisationOut(_Meta):
    name: str
    type: str
    org_number: str | None = None
    description: str | None = None
    is_example: bool = False


class MemberOut(BaseModel):
    organisation_id: int
    organisation_name: str | None = None
    role: str
    note: str | None = None


class PartnershipOut(_Meta):
    name: str
    description: str | None = None
    period_start: date
    period_end: date
    budget_sek: float | None = None
    kommun_code: str | None = None
    areas: list[AreaRef] = Field(default_factory=list)
    members: list[MemberOut] = Field(default_factory=list)
    is_example: bool = False


class GoalOut(_Meta):
    partnership_id: int
    title: str
    description: str | None = None
    kind: str
    unit: str
    measure: str
    baseline_value: float
    baseline_year: int
    target_value: float
    target_year: int
    direction: str
    indicator: str | None = None
    aggregation: str | None = None
    denominator_indicator: str | None = None
    areas: list[AreaRef] | None = None
    responsible_organisation_id: int | None = None
    trajectory: str
    trajectory_points: list[TrajectoryPoint] = Field(default_factory=list)
    source_note: str | None = None
    is_example: bool = False


class MeasurementOut(_Meta):
    goal_id: int
    period: str
    period_end: date
    value: float
    source: str
    evidence_note: str | None = None
    attachment_name: str | None = None
    attachment_sha256: str | None = None
    state: MeasurementState
    entered_by: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    decision_note: str | None = None
    from_statistics: bool = False
    provenance: dict | None = None


class ActivityOut(_Meta):
    partnership_id: int
    organisation_id: int | None = None
    title: str
    description: str | None = None
    start_date: date
    end_date: date | None = None
    budget_sek: float | None = None
    spent_sek: float | None = None
    status: str
    goal_ids: list[int] = Field(default_factory=list)
    outputs: list[OutputIn] = Field(default_factory=list)
    is_example: bool = False


class ContributionOut(_Meta):
    partnership_id: int
    organisation_id: int
    activity_id: int | None = None
    kind: str
    amount: float
    unit: str
    value_sek: float | None = None
    date: date
    description: str | None = None
    is_example: bool = False


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    version: int | None = None
    before: dict | None = None
    after: dict | None = None
    context: dict | None = None
