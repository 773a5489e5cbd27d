"""Gap to parity: how many persons must change for an area to reach a reference rate.

``persons = (reference_rate − area_rate) / scale × area_denominator``

with rates in percent (``scale = 100``) or as shares (``scale = 1``). Example: employment 20–64 in
Bergsjön's DeSO is 64.9 % of 15,000 residents aged 20–64 and Göteborg's rate is 78.0 % → the area
needs (78.0 − 64.9) / 100 × 15,000 = 1,965 more employed *at today's population* to reach the city
rate. Every input carries its year and source, so the result can be reproduced from the published
tables, and the data lag (how old the newest input is, and how far apart the inputs are) is reported.

An optional projection scales the denominator to a later year (an explicit projected denominator,
or an annual growth rate), assuming both rates stay as they are.

The reference usually contains the area itself (Bergsjön is part of Göteborg). :func:`rest_of_reference`
removes the area from the reference when both denominators are known, giving parity with *the rest*
of the municipality.

This module is pure: the store adapter (``handslag.store.goals_repo.gap_inputs``) assembles the
inputs from observations and aggregates areas with :func:`aggregate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

from .vocab import Direction

#: Words for "N more …" per indicator (English, Swedish); the default is "persons" / "personer".
NOUNS = {
    "employment_20_64": ("employed", "förvärvsarbetande"),
    "unemployment_20_64": ("unemployed", "arbetslösa"),
    "unemployment_16_64": ("unemployed", "arbetslösa"),
    "school_eligibility": ("eligible pupils", "behöriga elever"),
    "post_secondary_education": ("persons with post-secondary education", "personer med eftergymnasial utbildning"),
    "low_economic_standard": ("persons with low economic standard", "personer med låg ekonomisk standard"),
    "economic_assistance": ("persons receiving economic assistance", "personer med ekonomiskt bistånd"),
}


@dataclass(frozen=True)
class IndicatorInfo:
    id: str
    kind: str  # rate, count, …
    unit: str  # percent, persons, …
    direction: str  # higher_is_better, lower_is_better, neutral
    name_sv: str
    name_en: str
    denominator: str | None  # from the catalogue; None when it names none (see default_denominator)


def indicator_info(indicator: str) -> IndicatorInfo:
    """Facts about an indicator from the catalogue (``handslag.indicators``), with safe fallbacks."""
    try:
        from handslag.indicators.catalogue import get_indicator, known

        if known(indicator):
            ind = get_indicator(indicator)
            return IndicatorInfo(ind.id, ind.kind, ind.unit, ind.direction, ind.name_sv, ind.name_en,
                                 ind.denominator)
    except ImportError:  # pragma: no cover - the catalogue ships with the package
        pass
    return IndicatorInfo(indicator, "rate", "percent", "higher_is_better", indicator, indicator, None)


def default_denominator(indicator: str) -> str:
    """Fallback denominator indicator: ``population_<age band>`` for ``…_<a>_<b>`` ids, else ``population``."""
    m = re.search(r"_(\d{1,2})_(\d{2})$", indicator)
    return f"population_{m[1]}_{m[2]}" if m else "population"


@dataclass(frozen=True)
class RateInput:
    """One side of the comparison: a rate with its denominator, years and source."""

    label: str
    rate: float
    year: int
    source: str
    denominator: float | None = None
    denominator_year: int | None = None
    denominator_source: str | None = None
    derived: bool = False  # computed here by aggregating areas (not a published figure)
    derivation: str | None = None  # how it was derived
    n_areas: int | None = None
    area_codes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # e.g. "denominator estimated", "provisional"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["area_codes"] = list(self.area_codes)
        d["flags"] = list(self.flags)
        return d


@dataclass(frozen=True)
class AreaValue:
    """A rate of one area with its denominator (input to :func:`aggregate`)."""

    code: str
    rate: float
    denominator: float
    year: int
    denominator_year: int
    numerator: float | None = None


def aggregate(values: Iterable[AreaValue], *, scale: float = 100.0) -> tuple[float, float, float]:
    """Denominator-weighted rate of several areas: ``(rate, Σ denominator, Σ numerator)``.

    ``rate = scale · Σ numerator / Σ denominator`` where an area's numerator is its published count when
    given, else ``rate / scale · denominator``; identical to ``Σ rate·den / Σ den``.
    """
    num = den = 0.0
    for v in values:
        if not (v.denominator > 0 and math.isfinite(v.rate)):
            raise ValueError(f"area {v.code}: rate and a positive denominator are required")
        den += v.denominator
        num += v.numerator if v.numerator is not None else v.rate / scale * v.denominator
    if den <= 0:
        raise ValueError("no areas to aggregate")
    return scale * num / den, den, num


def rest_of_reference(reference: RateInput, area: RateInput, *, scale: float = 100.0) -> RateInput:
    """The reference without the area: ``(R·D_ref − r·D_area) / (D_ref − D_area)``."""
    if reference.denominator is None or area.denominator is None:
        raise ValueError("both denominators are needed to remove the area from the reference")
    rest_den = reference.denominator - area.denominator
    if rest_den <= 0:
        raise ValueError("the area is as large as the reference; there is no rest to compare with")
    rest_num = reference.rate / scale * reference.denominator - area.rate / scale * area.denominator
    return RateInput(
        label=f"{reference.label} excluding {area.label}", rate=scale * rest_num / rest_den, year=reference.year,
        source=reference.source, denominator=rest_den, denominator_year=reference.denominator_year,
        denominator_source=reference.denominator_source, derived=True,
        derivation=f"({reference.label} rate × denominator − area rate × denominator) / (difference of denominators)",
        n_areas=None, flags=tuple(dict.fromkeys([*reference.flags, *area.flags])))


@dataclass(frozen=True)
class Projection:
    """Scale the area denominator to ``year``: an explicit value or an annual growth rate in percent."""

    year: int
    denominator: float | None = None
    annual_growth_pct: float | None = None

    def __post_init__(self) -> None:
        if (self.denominator is None) == (self.annual_growth_pct is None):
            raise ValueError("a projection needs exactly one of: projected denominator, annual growth (%)")
        if self.denominator is not None and self.denominator <= 0:
            raise ValueError("the projected denominator must be positive")


@dataclass(frozen=True)
class Step:
    label: str
    expression: str
    value: float
    unit: str = ""


@dataclass
class GapResult:
    indicator: str
    area: RateInput
    reference: RateInput
    scale: float
    direction: str  # higher_is_better, lower_is_better, neutral
    rate_gap: float  # reference − area, in rate units (percentage points when scale = 100)
    persons: float  # (reference − area)/scale × denominator; positive = the area needs more of them
    noun: tuple[str, str]
    as_of_year: int
    steps: list[Step] = field(default_factory=list)
    lags: dict = field(default_factory=dict)
    projection: dict | None = None
    warnings: list[str] = field(default_factory=list)

    formula = "(reference_rate − area_rate) / scale × area_denominator"

    @property
    def persons_rounded(self) -> int:
        return int(math.floor(abs(self.persons) + 0.5)) * (1 if self.persons >= 0 else -1)

    @property
    def at_parity(self) -> bool:
        if self.direction == Direction.decrease or self.direction == "lower_is_better":
            return self.persons >= 0
        return self.persons <= 0

    def headline(self, lang: str = "en") -> str:
        n = abs(self.persons_rounded)
        noun = self.noun[1] if lang == "sv" else self.noun[0]
        more = self.persons >= 0
        if lang == "sv":
            word = "fler" if more else "färre"
            text = (f"{self.area.label} behöver {n:,} {word} {noun} för att nå {self.reference.label}s nivå "
                    f"({self.reference.rate:.1f} %)").replace(",", " ")
        else:
            word = "more" if more else "fewer"
            text = f"{self.area.label} needs {n:,} {word} {noun} to reach the rate of {self.reference.label} " \
                   f"({self.reference.rate:.1f} %)"
        if self.at_parity:
            text += (" – redan i nivå med eller bättre än referensen" if lang == "sv"
                     else " – already at or beyond parity")
        return text

    def explain(self) -> str:
        lines = [self.headline("en"), "", f"Formula: {self.formula}"]
        for s in self.steps:
            lines.append(f"  {s.label}: {s.expression} = {_fmt(s.value)}{(' ' + s.unit) if s.unit else ''}")
        lines.append(f"Data lag: newest input {self.lags['newest_input_year']}, {self.lags['data_age_years']} year(s)"
                     f" before {self.as_of_year}; rate year vs denominator year differ by "
                     f"{self.lags['denominator_minus_rate_year']} year(s)")
        if self.projection:
            p = self.projection
            lines.append(f"Projection to {p['year']}: denominator {_fmt(p['denominator'])} → "
                         f"{_fmt(p['persons'])} persons ({p['method']})")
        lines += [f"Note: {w}" for w in self.warnings]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "indicator": self.indicator,
            "formula": self.formula,
            "scale": self.scale,
            "direction": self.direction,
            "area": self.area.as_dict(),
            "reference": self.reference.as_dict(),
            "rate_gap": self.rate_gap,
            "persons": self.persons,
            "persons_rounded": self.persons_rounded,
            "at_parity": self.at_parity,
            "headline": self.headline("en"),
            "headline_sv": self.headline("sv"),
            "steps": [asdict(s) for s in self.steps],
            "lags": self.lags,
            "projection": self.projection,
            "warnings": self.warnings,
            "as_of_year": self.as_of_year,
        }

    def steps_frame(self):
        import pandas as pd

        return pd.DataFrame([asdict(s) for s in self.steps], columns=["label", "expression", "value", "unit"])


def _fmt(x: float) -> str:
    if x is None:
        return "–"
    if abs(x - round(x)) < 1e-9 and abs(x) >= 1:
        return f"{round(x):,}".replace(",", " ")
    return f"{x:,.3f}".replace(",", " ")


def gap_to_parity(area: RateInput, reference: RateInput, *, indicator: str, scale: float = 100.0,
                  direction: str = "higher_is_better", noun: tuple[str, str] | None = None,
                  as_of_year: int | None = None, projection: Projection | None = None) -> GapResult:
    """Compute the gap to parity and every step of it (see the module text)."""
    if area.denominator is None or not area.denominator > 0:
        raise ValueError(f"the area ({area.label}) needs a positive denominator")
    for side in (area, reference):
        if side.rate is None or not math.isfinite(side.rate):
            raise ValueError(f"{side.label}: the rate is missing")
        if not -1e-9 <= side.rate <= scale + 1e-9:
            raise ValueError(f"{side.label}: rate {side.rate} is outside 0–{scale:g}")
    as_of_year = as_of_year or date.today().year
    noun = noun or NOUNS.get(indicator, ("persons", "personer"))
    rate_gap = reference.rate - area.rate
    persons = rate_gap / scale * area.denominator
    unit = "percentage points" if scale == 100 else "share"
    steps = [
        Step(f"Area rate ({area.label}, {area.year})", _describe(area), area.rate, "%" if scale == 100 else ""),
        Step(f"Reference rate ({reference.label}, {reference.year})", _describe(reference), reference.rate,
             "%" if scale == 100 else ""),
        Step(f"Area denominator ({area.denominator_year or area.year})", area.denominator_source or area.source,
             area.denominator, "persons"),
        Step("Rate gap", f"{reference.rate:.3f} − {area.rate:.3f}", rate_gap, unit),
        Step("Gap in persons", f"{rate_gap:.3f} / {scale:g} × {_fmt(area.denominator)}", persons, "persons"),
    ]
    input_years = [area.year, reference.year] + [y for y in (area.denominator_year,) if y is not None]
    den_year = area.denominator_year if area.denominator_year is not None else area.year
    lags = {
        "area_rate_year": area.year,
        "reference_rate_year": reference.year,
        "denominator_year": den_year,
        "newest_input_year": max(input_years),
        "oldest_input_year": min(input_years),
        "data_age_years": as_of_year - max(input_years),
        "denominator_minus_rate_year": den_year - area.year,
        "reference_minus_area_year": reference.year - area.year,
    }
    warnings: list[str] = []
    if reference.year != area.year:
        warnings.append(f"area rate ({area.year}) and reference rate ({reference.year}) are from different years")
    if den_year != area.year:
        warnings.append(f"the denominator is from {den_year}, the rate from {area.year}")
    if reference.derived:
        warnings.append(f"the reference rate is derived, not published: {reference.derivation}")
    if area.derived and area.n_areas and area.n_areas > 1:
        warnings.append(f"the area rate is the denominator-weighted mean of {area.n_areas} areas")
    for flag in dict.fromkeys([*area.flags, *reference.flags]):
        warnings.append(flag)
    warnings.append("the reference includes the area itself unless it was removed (rest of the reference)")
    proj = None
    if projection is not None:
        if projection.denominator is not None:
            pden, method = projection.denominator, "projected denominator given"
        else:
            years = projection.year - den_year
            pden = area.denominator * (1 + projection.annual_growth_pct / 100) ** years
            method = f"{projection.annual_growth_pct:g} % a year for {years} year(s) from {den_year}"
        ppersons = rate_gap / scale * pden
        proj = {"year": projection.year, "denominator": pden, "persons": ppersons,
                "persons_rounded": int(math.floor(abs(ppersons) + 0.5)) * (1 if ppersons >= 0 else -1),
                "method": method, "assumption": "both rates unchanged; only the denominator grows"}
        steps.append(Step(f"Projected denominator ({projection.year})", method, pden, "persons"))
        steps.append(Step(f"Gap in persons at {projection.year}", f"{rate_gap:.3f} / {scale:g} × {_fmt(pden)}",
                          ppersons, "persons"))
    return GapResult(indicator=indicator, area=area, reference=reference, scale=scale, direction=direction,
                     rate_gap=rate_gap, persons=persons, noun=noun, as_of_year=as_of_year, steps=steps, lags=lags,
                     projection=proj, warnings=warnings)


def _describe(side: RateInput) -> str:
    if side.derived:
        return side.derivation or "derived"
    return f"published ({side.source})"


@dataclass(frozen=True)
class Reference:
    """A reference for the gap: ``kommun[:CODE]``, ``lan[:CODE]``, ``riket`` or ``areas:CODE,CODE…``."""

    kind: str  # kommun, lan, riket, areas
    code: str | None = None
    areas: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "areas":
            return "areas:" + ",".join(self.areas)
        return f"{self.kind}:{self.code}" if self.code else self.kind


_KOMMUN = re.compile(r"^\d{4}$")
_LAN = re.compile(r"^\d{2}$")


def parse_reference(text: str) -> Reference:
    """Parse ``kommun``, ``kommun:1480``, ``county:14`` / ``lan:14``, ``riket`` / ``nation``, ``areas:A,B``."""
    raw = text.strip()
    kind, _, rest = raw.partition(":")
    kind = kind.lower()
    kind = {"municipality": "kommun", "county": "lan", "län": "lan", "nation": "riket", "sweden": "riket",
            "sverige": "riket"}.get(kind, kind)
    rest = rest.strip()
    if kind == "kommun":
        if rest and not _KOMMUN.match(rest):
            raise ValueError(f"kommun code {rest!r} is not four digits")
        return Reference("kommun", rest or None)
    if kind == "lan":
        if rest and not _LAN.match(rest):
            raise ValueError(f"county code {rest!r} is not two digits")
        return Reference("lan", rest or None)
    if kind == "riket":
        return Reference("riket")
    if kind == "areas":
        codes = tuple(c.strip() for c in rest.split(",") if c.strip())
        if not codes:
            raise ValueError("areas: needs at least one area code")
        return Reference("areas", areas=codes)
    raise ValueError(f"reference {raw!r} is not kommun[:CODE], lan[:CODE], riket or areas:CODE,…")
