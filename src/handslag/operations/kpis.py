"""Configurable operational KPIs, with the eight *superförvaltning* factors as defaults.

The eight factors are those Familjebostäder described (methods brief §7; source: a blog by the then CEO,
evidence level [S]). How each is measured is a configurable choice, not an official definition:

====  ==========================================  =============================================
 #    factor                                      default measure
====  ==========================================  =============================================
 1    trygghetssäkrade fastigheter                manual: share of buildings inspected/secured (%)
 2    local presence every day until 23:00        roster coverage, role ``lokal_narvaro`` (%)
 3    trygghetsvandringar and boendedialoger      manual: number per period
 4    trygghetsvärdar 15–23 every day             roster coverage, role ``trygghetsvard`` (%)
 5    zero tolerance for criminal activity        manual: crimes reported to the police
 6    correct tenancies                           manual: tenancies checked
 7    vandalism and graffiti removed within 24 h  work orders within SLA, graffiti + vandalism (%)
 8    waste handling without littering            littering work orders per 100 flats
====  ==========================================  =============================================

Measures: ``manual`` (values reported per area and period), ``work_orders_within_sla``,
``work_orders_median_hours``, ``work_orders_count``, ``work_orders_per_100_flats`` (over ``categories``; all
categories when empty), ``roster_coverage`` (for ``role``). Computed measures are monthly (``2024-03``);
manual values may be yearly (``2024``), quarterly (``2024Q1``) or monthly.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handslag.errors import Problem, ValidationFailed
from handslag.surveys.readers import AREA_ALIASES, AreaCheck, ProblemCollector
from handslag.surveys.tables import Table, pick_column, read_table

from .rosters import roster_coverage
from .work_orders import DEFAULT_SLA_HOURS, normalise_category, work_order_kpis

MEASURES = ("manual", "work_orders_within_sla", "work_orders_median_hours", "work_orders_count",
            "work_orders_per_100_flats", "roster_coverage")
DIRECTIONS = ("up", "down", "none")


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    name_sv: str
    unit: str
    measure: str = "manual"
    factor: int | None = None
    name_en: str | None = None
    direction: str = "up"
    categories: tuple[str, ...] = ()
    role: str | None = None
    target: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]{1,64}", self.code):
            raise ValueError(f"KPI code {self.code!r} must be 1–64 lower-case letters, digits or _")
        if self.measure not in MEASURES:
            raise ValueError(f"KPI {self.code}: measure must be one of {', '.join(MEASURES)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"KPI {self.code}: direction must be up, down or none")
        if self.factor is not None and not 1 <= self.factor <= 8:
            raise ValueError(f"KPI {self.code}: factor must be 1–8 (the superförvaltning factors) or empty")
        if self.measure == "roster_coverage" and not self.role:
            raise ValueError(f"KPI {self.code}: roster_coverage needs a role")
        if not self.name_sv:
            raise ValueError(f"KPI {self.code}: name_sv is empty")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["categories"] = list(self.categories)
        return out


DEFAULT_KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition("f1_trygghetssakrade_fastigheter", "Trygghetssäkrade fastigheter", "%", factor=1,
                  name_en="Security-proofed buildings", target=100.0,
                  description="Andel byggnader som inventerats och säkrats (lås, kameror, dörrar, inbrottsskydd)."),
    KpiDefinition("f2_lokal_narvaro", "Lokal närvaro alla dagar till 23:00", "%", measure="roster_coverage",
                  factor=2, name_en="Local presence every day until 23:00", role="lokal_narvaro", target=100.0,
                  description="Bemannade timmar som andel av planerade för lokal närvaro."),
    KpiDefinition("f3_trygghetsvandringar_dialoger", "Trygghetsvandringar och boendedialoger", "antal", factor=3,
                  name_en="Safety walks and tenant dialogues", direction="up",
                  description="Antal genomförda trygghetsvandringar och boendedialoger."),
    KpiDefinition("f4_trygghetsvardar", "Trygghetsvärdar 15–23 alla dagar", "%", measure="roster_coverage",
                  factor=4, name_en="Security hosts 15–23 every day", role="trygghetsvard", target=100.0,
                  description="Bemannade timmar som andel av planerade för trygghetsvärdar."),
    KpiDefinition("f5_nolltolerans_brott", "Nolltolerans mot kriminell verksamhet", "antal", factor=5,
                  name_en="Zero tolerance for criminal activity", direction="none",
                  description="Antal polisanmälningar gjorda av bolaget (stöd till vittnen, samverkan med polis)."),
    KpiDefinition("f6_riktiga_hyresforhallanden", "Riktiga hyresförhållanden", "antal", factor=6,
                  name_en="Correct tenancies", direction="none",
                  description="Antal kontrollerade hyresförhållanden (registerkontroller, uppsagda falska avtal)."),
    KpiDefinition("f7_klotter_skadegorelse_24h", "Klotter och skadegörelse åtgärdat inom 24 h", "%",
                  measure="work_orders_within_sla", factor=7, name_en="Graffiti and vandalism fixed within 24 h",
                  categories=("graffiti", "vandalism"), target=100.0),
    KpiDefinition("f8_nedskrapning", "Avfallshantering utan nedskräpning", "per 100 lgh",
                  measure="work_orders_per_100_flats", factor=8, name_en="Waste handling without littering",
                  categories=("littering",), direction="down",
                  description="Ärenden om nedskräpning per 100 lägenheter och månad."),
)


def _none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def kpi_from_record(record: Mapping[str, Any]) -> KpiDefinition:
    r = {str(k).strip().lower(): _none(v) for k, v in record.items()}
    cats = r.get("categories")
    if isinstance(cats, str):
        cats = [c for c in re.split(r"[|;,]", cats) if c.strip()]
    factor = r.get("factor")
    target = r.get("target")
    return KpiDefinition(
        code=str(r.get("code") or "").strip(), name_sv=str(r.get("name_sv") or r.get("name") or "").strip(),
        unit=str(r.get("unit") or "").strip() or "antal", measure=str(r.get("measure") or "manual").strip(),
        factor=None if factor is None else int(float(factor)), name_en=r.get("name_en"),
        direction=str(r.get("direction") or "up").strip().lower(),
        categories=tuple(normalise_category(c) for c in (cats or [])),
        role=r.get("role"), target=None if target is None else float(str(target).replace(",", ".")),
        description=str(r.get("description") or ""))


def read_kpi_definitions(path: str | Path) -> list[KpiDefinition]:
    """KPI definitions from CSV/Excel (one per row), or JSON/TOML (``{"kpis": [...]}`` or a list)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".toml"):
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
        records = data.get("kpis", []) if isinstance(data, dict) else data
    else:
        frame = read_table(path).frame.astype(object)
        records = frame.where(frame.notna(), None).to_dict("records")
    out, problems = [], []
    for i, record in enumerate(records):
        try:
            out.append(kpi_from_record(record))
        except (ValueError, TypeError) as exc:
            problems.append(Problem(path.name, i + 2, None, str(exc)))
    if problems:
        raise ValidationFailed(problems, what="KPI definitions")
    return out


_PERIOD_RES = (
    (re.compile(r"^(\d{4})$"), lambda m: m.group(1)),
    (re.compile(r"^(\d{4})\s*[-_ ]?\s*[QqKk]([1-4])$"), lambda m: f"{m.group(1)}Q{m.group(2)}"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), lambda m: f"{m.group(1)}-{int(m.group(2)):02d}"
     if 1 <= int(m.group(2)) <= 12 else None),
    (re.compile(r"^(\d{4})(\d{2})$"), lambda m: f"{m.group(1)}-{m.group(2)}" if 1 <= int(m.group(2)) <= 12 else None),
)


def normalise_period(value: str) -> str | None:
    """``2024`` | ``2024Q1`` (also ``2024-Q1``, ``2024K1``) | ``2024-03`` (also ``202403``); None if invalid."""
    text = str(value).strip()
    for pattern, build in _PERIOD_RES:
        m = pattern.match(text)
        if m:
            return build(m)
    return None


def read_kpi_values(path: str | Path | None = None, *, known_kpis: Iterable[str], area_check: AreaCheck | None = None,
                    display_name: str | None = None, sheet: str | int | None = None, table: Table | None = None
                    ) -> pd.DataFrame:
    """Manual KPI values: ``kpi, area_code, period, value`` (+ ``numerator``, ``denominator``, ``note``).

    ``value`` may be left out when ``numerator`` and ``denominator`` are given: then it is
    ``100 × numerator / denominator``.
    """
    if table is None:
        if path is None:
            raise ValueError("give a path or a table")
        table = read_table(path, sheet=sheet, display_name=display_name)
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    kcol = pick_column(frame, ("kpi", "kpi_code", "code", "nyckeltal"))
    acol = pick_column(frame, AREA_ALIASES)
    pcol = pick_column(frame, ("period", "year", "ar", "år", "manad", "månad", "month"))
    vcol = pick_column(frame, ("value", "varde", "värde"))
    ncol = pick_column(frame, ("numerator", "taljare", "täljare"))
    dcol = pick_column(frame, ("denominator", "namnare", "nämnare"))
    notecol = pick_column(frame, ("note", "notering", "kommentar", "comment"))
    for name, col in (("kpi", kcol), ("area_code", acol), ("period", pcol)):
        if col is None:
            problems.add(1, name, "required column is missing")
    if vcol is None and (ncol is None or dcol is None):
        problems.add(1, "value", "required column is missing (or give numerator and denominator)")
    problems.raise_if_any("KPI values")
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)
    known = set(known_kpis)
    kpi = frame[kcol].astype("string").str.strip()
    bad_k = np.flatnonzero(~kpi.isin(list(known)).fillna(False).to_numpy())
    problems.rows(rows[bad_k], kcol, lambda i: f"unknown KPI {kpi.iloc[bad_k[i]]!r}", summary="unknown KPIs")
    area = frame[acol].astype("string").str.strip()
    problems.rows(rows[area.isna().to_numpy()], acol, "area code is blank")
    if area_check is not None:
        bad = area_check(sorted(set(area.dropna().tolist())))
        hit = np.flatnonzero(area.isin(list(bad)).fillna(False).to_numpy())
        problems.rows(rows[hit], acol, lambda i: f"{bad[area.iloc[hit[i]]]}: {area.iloc[hit[i]]}",
                      summary="unknown area codes")
    period = frame[pcol].astype("string").map(lambda v: normalise_period(v) if pd.notna(v) else None,
                                              na_action="ignore")
    bad_p = np.flatnonzero(period.isna().to_numpy())
    problems.rows(rows[bad_p], pcol, "period must be YYYY, YYYYQn or YYYY-MM")

    def nums(col: str | None) -> np.ndarray:
        if col is None:
            return np.full(n, np.nan)
        text = frame[col].astype("string").str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(frame[col].notna().to_numpy() & np.isnan(values))
        problems.rows(rows[bad], col, "not a number")
        return values

    value, num, den = nums(vcol), nums(ncol), nums(dcol)
    derived = np.isnan(value) & ~np.isnan(num) & (den > 0)
    with np.errstate(all="ignore"):
        value = np.where(derived, 100 * num / den, value)
    missing = np.flatnonzero(np.isnan(value) & (frame[vcol].isna().to_numpy() if vcol else True))
    problems.rows(rows[missing], vcol or "value", "value is blank (and no numerator/denominator)")
    dup = np.flatnonzero(pd.DataFrame({"k": kpi, "a": area, "p": period}).duplicated().to_numpy())
    problems.rows(rows[dup], pcol, "this KPI, area and period appear twice")
    problems.raise_if_any("KPI values")
    note = frame[notecol].astype("string").astype(object) if notecol else pd.Series([None] * n, dtype=object)
    return pd.DataFrame({"kpi": kpi.astype(object), "area_code": area.astype(object), "period": period.astype(object),
                         "value": value, "numerator": num, "denominator": den,
                         "note": note.where(pd.notna(note), None), "row": rows})


def compute_kpis(definitions: Sequence[KpiDefinition], *, work_orders: pd.DataFrame | None = None,
                 shifts: pd.DataFrame | None = None, manual: pd.DataFrame | None = None,
                 flats: Mapping[str, float] | None = None, sla_hours: Mapping[str, float] | None = None,
                 default_sla_hours: float = DEFAULT_SLA_HOURS, as_of: Any = None, area: str = "area_code",
                 start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Values of every KPI per area and period.

    ``work_orders``: ``area``, ``category``, ``reported_at``, ``resolved_at``; ``shifts``: ``area``, ``day``,
    ``role``, ``planned_hours``, ``covered_hours``; ``manual``: ``kpi``, ``area``, ``period``, ``value`` (+
    ``numerator``, ``denominator``); ``flats``: flats per area (for per-100-flats measures).
    """
    columns = ["kpi", "factor", "name_sv", area, "period", "value", "unit", "direction", "target", "numerator",
               "denominator", "measure"]
    parts: list[pd.DataFrame] = []
    for d in definitions:
        meta = {"kpi": d.code, "factor": d.factor, "name_sv": d.name_sv, "unit": d.unit, "direction": d.direction,
                "target": d.target, "measure": d.measure}
        if d.measure == "manual":
            if manual is None or not len(manual):
                continue
            sub = manual[manual["kpi"] == d.code]
            if not len(sub):
                continue
            part = pd.DataFrame({area: sub[area].to_numpy(), "period": sub["period"].to_numpy(),
                                 "value": sub["value"].to_numpy(dtype=float),
                                 "numerator": sub.get("numerator", pd.Series(np.nan, index=sub.index)).to_numpy(),
                                 "denominator": sub.get("denominator", pd.Series(np.nan, index=sub.index)).to_numpy()})
        elif d.measure.startswith("work_orders"):
            if work_orders is None or not len(work_orders):
                continue
            wo = work_orders
            if d.categories:
                wo = wo[wo["category"].isin(list(d.categories))]
            if not len(wo):
                continue
            monthly = work_order_kpis(wo, area=area, sla_hours=sla_hours, default_sla_hours=default_sla_hours,
                                      as_of=as_of, start=start, end=end)
            part = pd.DataFrame({area: monthly[area], "period": monthly["month"]})
            if d.measure == "work_orders_within_sla":
                part["value"], part["numerator"], part["denominator"] = (
                    monthly["within_sla_share"], monthly["within_sla"], monthly["due"])
            elif d.measure == "work_orders_median_hours":
                part["value"], part["numerator"], part["denominator"] = monthly["median_hours"], np.nan, np.nan
            elif d.measure == "work_orders_count":
                part["value"], part["numerator"], part["denominator"] = monthly["reported"], monthly["reported"], np.nan
            else:
                per_area = pd.Series(flats or {}, dtype=float)
                den = monthly[area].map(per_area).to_numpy(dtype=float)
                with np.errstate(all="ignore"):
                    part["value"] = np.where(den > 0, 100 * monthly["reported"].to_numpy() / den, np.nan)
                part["numerator"], part["denominator"] = monthly["reported"].to_numpy(), den
        else:  # roster_coverage
            if shifts is None or not len(shifts):
                continue
            sub = shifts[shifts["role"] == d.role]
            if not len(sub):
                continue
            cov = roster_coverage(sub, area=area, start=start, end=end)
            part = pd.DataFrame({area: cov[area], "period": cov["month"], "value": cov["coverage"],
                                 "numerator": cov["covered_hours"], "denominator": cov["planned_hours"]})
        parts.append(part.assign(**meta))
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)[columns]
    return out.sort_values(["factor", "kpi", area, "period"], na_position="last").reset_index(drop=True)

