"""Controlled vocabularies of the goals domain (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum


class OrganisationType(StrEnum):
    public_housing = "public_housing"  # allmännyttigt bostadsbolag
    private_landlord = "private_landlord"  # privat fastighetsägare
    company = "company"  # företag
    municipality = "municipality"  # kommun / kommunal förvaltning
    civil_society = "civil_society"  # civilsamhälle, förening
    other = "other"


class MemberRole(StrEnum):
    lead = "lead"  # sammankallande / ansvarig part
    partner = "partner"
    funder = "funder"
    observer = "observer"
    other = "other"


class GoalKind(StrEnum):
    statistic = "statistic"  # actuals come from official statistics in the store
    partner_reported = "partner_reported"  # actuals are entered (and approved) by partners


class Unit(StrEnum):
    persons = "persons"
    companies = "companies"
    percentage_points = "percentage_points"
    share = "share"  # a share in percent (0–100)


class Measure(StrEnum):
    level = "level"  # values are the level of the measure (e.g. an employment rate of 65.2 %)
    change = "change"  # values are the change since the baseline year (baseline value 0)


class Direction(StrEnum):
    increase = "increase"
    decrease = "decrease"


class Aggregation(StrEnum):
    """How area-level statistics become one value for a statistic-linked goal."""

    weighted_rate = "weighted_rate"  # Σ rate·denominator / Σ denominator (a rate, in percent)
    count = "count"  # Σ numerator, or Σ rate/100·denominator when the source has no counts (persons)
    sum = "sum"  # Σ value (count indicators such as population or companies)


class TrajectoryShape(StrEnum):
    linear = "linear"
    front_loaded = "front_loaded"  # fast start: 1 − (1 − s)²
    back_loaded = "back_loaded"  # slow start: s²
    s_curve = "s_curve"  # 3s² − 2s³
    custom = "custom"  # interpolated between given (year, value) points


class MeasurementSource(StrEnum):
    scb = "scb"
    kolada = "kolada"
    survey = "survey"
    manual = "manual"


class MeasurementState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class ActivityStatus(StrEnum):
    planned = "planned"
    ongoing = "ongoing"
    completed = "completed"
    cancelled = "cancelled"


class ContributionKind(StrEnum):
    money = "money"  # SEK
    staff_hours = "staff_hours"  # hours
    in_kind = "in_kind"  # premises, equipment … (amount in the unit given, value_sek optional)


class Status(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    off_track = "off_track"
    no_data = "no_data"


#: Units of contributions by kind (the default when none is given).
CONTRIBUTION_UNITS = {ContributionKind.money: "SEK", ContributionKind.staff_hours: "hours",
                      ContributionKind.in_kind: "SEK"}

#: Default aggregation of a statistic-linked goal by its unit.
DEFAULT_AGGREGATION = {Unit.persons: Aggregation.count, Unit.companies: Aggregation.sum,
                       Unit.percentage_points: Aggregation.weighted_rate, Unit.share: Aggregation.weighted_rate}

STATUS_LABELS_SV = {Status.on_track: "I fas", Status.at_risk: "Risk", Status.off_track: "Ej i fas",
                    Status.no_data: "Inga mätningar"}
