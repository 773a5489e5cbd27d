"""Time series for charts: one area's indicator next to its municipality and the nation, and a
municipality's official area types for every year (for the map's year slider).

Municipality and nation values are *derived* from the small areas of the same division in the store
("beräknat från RegSO"/"beräknat från DeSO"), never read from another table:

* counts (``kind = count``): Σ value over the areas;
* rates with stored numerator and denominator: 100 · Σ numerator / Σ denominator (percent);
* means (``kind = mean``): the population-weighted mean of the area means, weighted by the same year's
  ``population`` of the same division. This is an approximation (the mean's own population, e.g.
  residents 20+, is not stored per area) and is flagged as such.

A value is given only when every area of the scope has one; the nation only when the division's
areas cover every municipality. Results are cached in memory per (newest import, division, indicator).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handslag import analysis as an
from handslag.cache import named_cache
from handslag.classify import TYPE_LABELS
from handslag.errors import NotFound
from handslag.indicators.catalogue import catalogue
from handslag.indicators.suppression import should_suppress
from handslag.store import areas_repo
from handslag.store.imports_repo import import_stamp
from handslag.store.models import Area, Observation
from handslag.store.observations_repo import observations_for_area, observations_frame
from handslag.web.deps import get_session

router = APIRouter(tags=["series"])

TYPE_DIVISION = "RegSO2020"
CACHE_SIZE = 128


def _cached(request: Request, key: tuple, build):
    return named_cache(request.app.state, "series", CACHE_SIZE).get(key, build)


def _level_sv(division: str) -> str:
    return "RegSO" if division.lower().startswith("regso") else "DeSO" if division.lower().startswith("deso") \
        else division


def aggregate_method(indicator: str, kind: str | None, frame: pd.DataFrame) -> str | None:
    """How the municipality/nation value of ``indicator`` is derived (``sum``, ``ratio``, ``weighted_mean``)."""
    if kind == "count":
        return "sum"
    if frame["numerator"].notna().all() and frame["denominator"].notna().all() and len(frame):
        return "ratio"
    if kind == "mean":
        return "weighted_mean"
    return None


def aggregates(session: Session, division: str, indicator: str) -> dict[str, Any]:
    """Per (kommun, year) and per year for the nation: value, numerator, denominator, n_areas.

    Returns ``{"method", "kommun": DataFrame, "riket": DataFrame | None, "national_coverage": bool}``.
    """
    cat = catalogue()
    kind = cat.at[indicator, "kind"] if indicator in cat.index else None
    obs = observations_frame(session, division=division, indicators=[indicator])
    obs = obs.sort_values(["area_code", "year", "source"]).drop_duplicates(["area_code", "year"])
    areas = pd.DataFrame(session.execute(select(Area.code, Area.kommun_code).where(
        Area.division == division)).all(), columns=["area_code", "kommun_code"])
    n_kommuner = int(session.scalar(select(func.count()).select_from(Area).where(Area.level == "kommun")) or 0)
    covered = areas["kommun_code"].dropna().nunique()
    method = aggregate_method(indicator, kind, obs)
    if method is None and kind == "rate" and indicator in cat.index:
        obs, method = _ratio_from_counts(session, division, obs, cat.at[indicator, "numerator"],
                                         cat.at[indicator, "denominator"])
    if method is None or obs.empty:
        return {"method": None, "kommun": None, "riket": None, "national_coverage": False}
    obs = obs[obs["value"].notna()].copy()
    if method == "sum":
        obs["num"], obs["den"] = obs["value"].astype(float), 1.0
    elif method == "ratio":
        obs["num"], obs["den"] = obs["numerator"].astype(float), obs["denominator"].astype(float)
    else:
        pop = observations_frame(session, division=division, indicators=["population"])
        pop = pop.sort_values(["area_code", "year", "source"]).drop_duplicates(["area_code", "year"])
        obs = obs.merge(pop[["area_code", "year", "value"]].rename(columns={"value": "den"}),
                        on=["area_code", "year"], how="inner")
        obs["den"] = pd.to_numeric(obs["den"], errors="coerce")
        obs = obs[obs["den"].notna()]
        obs["num"] = obs["value"].astype(float) * obs["den"]
    n_areas = areas.groupby("kommun_code").size()

    def finish(frame: pd.DataFrame, expected: pd.Series | int, key: list[str]) -> pd.DataFrame:
        out = frame.groupby(key, as_index=False).agg(num=("num", "sum"), den=("den", "sum"),
                                                     n=("area_code", "nunique"))
        out["expected"] = out["kommun_code"].map(expected) if isinstance(expected, pd.Series) else expected
        if method == "sum":
            out["value"] = out["num"]
        elif method == "ratio":
            out["value"] = 100.0 * out["num"] / out["den"].where(out["den"] > 0)
        else:
            out["value"] = out["num"] / out["den"].where(out["den"] > 0)
        out["complete"] = out["n"] >= out["expected"]
        return out

    by_kommun = finish(obs, n_areas, ["kommun_code", "year"])
    riket = finish(obs, len(areas), ["year"]) if covered >= n_kommuner > 0 else None
    return {"method": method, "kommun": by_kommun, "riket": riket, "national_coverage": riket is not None}


def _ratio_from_counts(session: Session, division: str, obs: pd.DataFrame, numerator: str | None,
                       denominator: str | None) -> tuple[pd.DataFrame, str | None]:
    """A rate stored without numerator/denominator: take them from the catalogue's count indicators."""
    if not numerator or not denominator or pd.isna(numerator) or pd.isna(denominator):
        return obs, None
    counts = observations_frame(session, division=division, indicators=[numerator, denominator])
    if counts.empty:
        return obs, None
    wide = counts.pivot_table(index=["area_code", "year"], columns="indicator", values="value",
                              aggfunc="first").reset_index()
    if numerator not in wide.columns or denominator not in wide.columns:
        return obs, None
    wide = wide.dropna(subset=[numerator, denominator])
    merged = obs.drop(columns=["numerator", "denominator"]).merge(
        wide.rename(columns={numerator: "numerator", denominator: "denominator"})[
            ["area_code", "year", "numerator", "denominator"]], on=["area_code", "year"], how="inner")
    return merged, "ratio" if len(merged) else None


METHOD_SV = {
    "sum": "summa av {level}-områdenas värden",
    "ratio": "summa av täljarna ÷ summa av nämnarna över {level}-områdena",
    "weighted_mean": "{level}-områdenas medelvärden vägda med folkmängd (ungefärligt: medelvärdets egen "
                     "population, t.ex. personer 20+, finns inte per område)",
}


def _points(frame: pd.DataFrame | None, where: pd.Series | None, unit: str | None, method: str,
            min_count: int) -> list[dict[str, Any]]:
    if frame is None:
        return []
    rows = frame[where] if where is not None else frame
    out = []
    for r in rows.sort_values("year").itertuples():
        value = float(r.value) if r.complete and pd.notna(r.value) else None
        num = float(r.num) if method != "weighted_mean" else None
        den = float(r.den) if method == "ratio" else None
        hidden = value is not None and should_suppress(unit=unit, value=value, numerator=num if method == "ratio"
                                                       else None, denominator=den, min_count=min_count)
        out.append({"year": int(r.year), "value": None if hidden else value, "numerator": num, "denominator": den,
                    "n_areas": int(r.n), "expected_areas": int(r.expected), "complete": bool(r.complete),
                    "suppressed": hidden})
    return out


@router.get("/areas/{code}/series", summary="An area's indicator over time with its kommun and the nation")
def area_series(request: Request, code: str = Path(..., pattern=r"^[0-9A-Za-z_-]{1,32}$"),
                indicator: str = Query(..., min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$"),
                division: str | None = Query(None, max_length=16, pattern=r"^[A-Za-z]+[0-9]{4}$"),
                session: Session = Depends(get_session)) -> dict[str, Any]:
    area = areas_repo.get_area(session, code, division)  # NotFound → 404
    min_count = request.app.state.settings.suppress_below
    cat = catalogue()
    meta = cat.loc[indicator].to_dict() if indicator in cat.index else {}
    obs = observations_for_area(session, area.code, area.division, indicator=indicator)
    if not obs:
        raise NotFound(f"{area.code} ({area.division}) har inga värden för indikatorn {indicator!r}")
    seen: set[int] = set()
    area_points = []
    for o in obs:
        if o.year in seen:
            continue
        seen.add(o.year)
        hidden = o.suppressed or should_suppress(unit=o.unit, value=o.value, numerator=o.numerator,
                                                 denominator=o.denominator, min_count=min_count)
        area_points.append({"year": int(o.year), "value": None if hidden else o.value, "suppressed": bool(hidden),
                            "estimated": bool(o.estimated), "source": o.source})
    unit = obs[-1].unit or meta.get("unit")
    sources = sorted({o.source for o in obs})
    agg = _cached(request, ("agg", import_stamp(session), area.division, indicator),
                  lambda: aggregates(session, area.division, indicator))
    method = agg["method"]
    level = _level_sv(area.division)
    flag = f"beräknat från {level}"
    kommun = session.scalar(select(Area).where(Area.code == area.kommun_code, Area.level == "kommun")) \
        if area.kommun_code else None
    out: dict[str, Any] = {
        "indicator": indicator, "name": meta.get("name_sv", indicator), "unit": unit, "kind": meta.get("kind"),
        "division": area.division,
        "area": {"code": area.code, "name": area.name, "level": area.level, "series": area_points,
                 "source": ", ".join(sources)},
        "kommun": None, "riket": None,
        "provenance": {"area": f"{', '.join(sources)}, {area.division}",
                       "derived": None if method is None else f"{flag}: " + METHOD_SV[method].format(level=level),
                       "method": method, "approximation": method == "weighted_mean",
                       "source": ", ".join(sources), "division": area.division},
    }
    if method is None:
        out["provenance"]["note"] = "Kommun- och riksvärden kan inte härledas för den här indikatorn."
        return out
    if kommun is not None and agg["kommun"] is not None and area.level in ("deso", "regso"):
        frame = agg["kommun"]
        out["kommun"] = {"code": kommun.code, "name": kommun.name, "derived": True, "flag": flag,
                         "series": _points(frame, frame["kommun_code"] == kommun.code, unit, method, min_count)}
    if agg["riket"] is not None and area.level in ("deso", "regso"):
        out["riket"] = {"code": "riket", "name": "Riket", "derived": True, "flag": flag,
                        "series": _points(agg["riket"], None, unit, method, min_count)}
    elif area.level in ("deso", "regso"):
        out["provenance"]["note"] = (f"Inget riksvärde: {area.division}-områdena i databasen täcker inte alla "
                                     "kommuner.")
    return out


@router.get("/kommuner/{code}/type-series", summary="Official area types of a kommun's RegSO2020 areas, every year")
def kommun_type_series(request: Request, code: str = Path(..., pattern=r"^\d{4}$"),
                       session: Session = Depends(get_session)) -> dict[str, Any]:
    an.check_kommun(session, code)  # NotFound → 404

    def build() -> dict[str, Any]:
        years = sorted(int(y) for y in session.scalars(select(Observation.year).join(
            Area, (Area.code == Observation.area_code) & (Area.division == Observation.division)).where(
            Observation.indicator == an.AREA_TYPE_INDICATOR, Observation.division == TYPE_DIVISION,
            Area.kommun_code == code).distinct()).all())
        types: dict[str, dict[str, int | None]] = {}
        sources: set[str] = set()
        for year in years:
            frame = an.area_types_for(session, code, year, "official", "regso")
            types[str(year)] = {r["code"]: None if pd.isna(r["type"]) else int(r["type"])
                                for r in frame.to_dict(orient="records")}
            sources.update(frame["source"].dropna().astype(str))
        return {"kommun": code, "division": TYPE_DIVISION, "years": years, "source": ", ".join(sorted(sources)),
                "labels": {str(k): v for k, v in TYPE_LABELS.items()}, "types": types}

    return _cached(request, ("types", import_stamp(session), code), build)
