"""Work orders and incidents → per area and month: count, median time to resolve, SLA compliance, backlog.

File columns (case-insensitive; Swedish aliases accepted):

- ``id`` (``order_id``, ``arende``, ``ärendenummer``…), ``category`` (``kategori``), ``reported_at``
  (``anmald``, ``registrerad``…), ``resolved_at`` (``atgardad``, ``klar``…; blank = still open);
- where: ``area_code`` (a DeSO/RegSO/other area code), or ``property_id`` (from the property register), or
  coordinates (``x``/``y`` SWEREF 99 TM or ``lon``/``lat`` WGS84), placed by point-in-polygon.

Times are local (Europe/Stockholm); a time with an offset (``…+02:00``, ``…Z``) is converted to local time.
Categories are normalised (lower case, ``_`` for spaces) and common Swedish names mapped:
klotter → graffiti, skadegörelse → vandalism, nedskräpning → littering, trasigt lås → broken_lock.

KPIs (:func:`work_order_kpis`), per area (and optionally category) and month of reporting:

- ``reported``: orders reported in the month; ``resolved``: of those, resolved by ``as_of``;
- ``median_hours``: median hours from report to resolution of the month's resolved orders;
- ``due``: of the month's orders, those resolved or whose deadline (reported + SLA) has passed by
  ``as_of``; ``within_sla``: resolved no later than the deadline; ``within_sla_share`` = 100 × within / due
  (an open order inside its SLA window is not yet counted either way);
- ``backlog_end``: orders open at the end of the month (reported before and not resolved by then).

``as_of`` defaults to the latest time in the data, so results are reproducible from the data alone. The SLA
is 24 hours unless set per category.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from handslag.surveys.readers import AREA_ALIASES, AreaCheck, ProblemCollector
from handslag.surveys.tables import Table, pick_column, read_table

from .geo import assign_points_to_areas, coordinate_columns, parse_coordinates
from .properties import PROPERTY_ALIASES

DEFAULT_SLA_HOURS = 24.0
ORDER_ALIASES = ("order_id", "id", "order_ref", "arende", "ärende", "arendenummer", "ärendenummer",
                 "arende_id", "ärende_id", "workorder_id", "work_order_id", "ordernummer")
CATEGORY_ALIASES = ("category", "kategori", "typ", "type", "arendetyp", "ärendetyp")
REPORTED_ALIASES = ("reported_at", "reported", "anmald", "anmäld", "anmald_tid", "anmäld_tid", "registrerad",
                    "skapad", "created_at", "created")
RESOLVED_ALIASES = ("resolved_at", "resolved", "atgardad", "åtgärdad", "klar", "klar_tid", "avslutad",
                    "closed_at", "closed")
CATEGORY_SYNONYMS = {
    "klotter": "graffiti", "skadegorelse": "vandalism", "skadegörelse": "vandalism",
    "nedskrapning": "littering", "nedskräpning": "littering", "skrap": "littering", "skräp": "littering",
    "trasigt_las": "broken_lock", "trasigt_lås": "broken_lock", "las": "broken_lock", "lås": "broken_lock",
    "belysning": "lighting", "trasig_belysning": "lighting", "ovrigt": "other", "övrigt": "other",
}
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def normalise_category(value: str) -> str:
    key = re.sub(r"[\s\-/]+", "_", str(value).strip().lower())
    return CATEGORY_SYNONYMS.get(key, key)


def parse_times(series: pd.Series) -> pd.Series:
    """Parse ISO-like date-times; offsets converted to Europe/Stockholm local time; NaT where unparseable."""
    text = series.astype("string").str.strip()
    has_offset = text.str.contains(_OFFSET, na=False).to_numpy()
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    plain = ~has_offset & text.notna().to_numpy()
    if plain.any():
        parsed = pd.to_datetime(text[plain], errors="coerce", format="ISO8601")
        if parsed.isna().any():
            retry = parsed.isna()
            parsed[retry] = pd.to_datetime(text[plain][retry], errors="coerce", format="mixed", dayfirst=False)
        out[plain] = parsed.astype("datetime64[ns]")
    if has_offset.any():
        parsed = pd.to_datetime(text[has_offset], errors="coerce", utc=True, format="ISO8601")
        out[has_offset] = parsed.dt.tz_convert("Europe/Stockholm").dt.tz_localize(None).astype("datetime64[ns]")
    return out


@dataclass
class ParsedWorkOrders:
    frame: pd.DataFrame  # order_ref, category, reported_at, resolved_at, property_ref, x/y, area_code, deso…, row
    file: str
    counts: dict[str, int] = field(default_factory=dict)


def read_work_orders(path: str | Path | None = None, *, area_check: AreaCheck | None = None,
                     properties: pd.DataFrame | None = None,
                     areas: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame] | None = None,
                     crs: str | None = None, display_name: str | None = None, sheet: str | int | None = None,
                     table: Table | None = None) -> ParsedWorkOrders:
    """Read and check work orders; place each in an area (area code, property, or coordinates).

    ``properties``: the known register (``property_ref``, ``deso_code``, ``deso_division``, ``regso_code``,
    ``regso_division``). ``areas``: polygons for coordinates (or a function returning them, called only
    when some row has coordinates but neither area code nor property).
    """
    if table is None:
        if path is None:
            raise ValueError("give a path or a table")
        table = read_table(path, sheet=sheet, display_name=display_name)
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    ocol = pick_column(frame, ORDER_ALIASES)
    ccol = pick_column(frame, CATEGORY_ALIASES)
    rcol = pick_column(frame, REPORTED_ALIASES)
    scol = pick_column(frame, RESOLVED_ALIASES)
    acol = pick_column(frame, AREA_ALIASES)
    pcol = pick_column(frame, tuple(a for a in PROPERTY_ALIASES if a != "id"))
    for name, col in (("id", ocol), ("category", ccol), ("reported_at", rcol)):
        if col is None:
            problems.add(1, name, "required column is missing")
    xcol, _ycol, kind = coordinate_columns(frame)
    if acol is None and pcol is None and kind == "none":
        problems.add(1, "area_code", "no column says where: give area_code, property_id or coordinates")
    problems.raise_if_any("work orders")
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)

    refs = frame[ocol].astype("string").str.strip()
    blank = refs.isna().to_numpy() | (refs == "").fillna(False).to_numpy()
    problems.rows(rows[blank], ocol, "work order id is blank")
    dup = refs.duplicated().to_numpy() & ~blank
    if dup.any():
        first = pd.Series(rows, index=refs.to_numpy()).groupby(level=0).first()
        hit = np.flatnonzero(dup)
        problems.rows(rows[hit], ocol, lambda i: f"duplicate work order id (first in row "
                      f"{int(first[refs.iloc[hit[i]]])})", summary="duplicate work order ids")
    cats = frame[ccol].astype("string").str.strip()
    problems.rows(rows[cats.isna().to_numpy()], ccol, "category is blank")
    category = cats.map(lambda c: normalise_category(c) if pd.notna(c) else None, na_action="ignore")

    reported = parse_times(frame[rcol])
    bad_r = np.flatnonzero(reported.isna().to_numpy())
    problems.rows(rows[bad_r], rcol, lambda i: "reported time is blank" if pd.isna(frame[rcol].iloc[bad_r[i]])
                  else f"reported time {str(frame[rcol].iloc[bad_r[i]])[:30]!r} is not a date and time",
                  summary="bad reported times")
    if scol is not None:
        resolved = parse_times(frame[scol])
        given = frame[scol].notna().to_numpy()
        bad_s = np.flatnonzero(given & resolved.isna().to_numpy())
        problems.rows(rows[bad_s], scol, lambda i: f"resolved time {str(frame[scol].iloc[bad_s[i]])[:30]!r} is not "
                      "a date and time", summary="bad resolved times")
        before = np.flatnonzero((resolved < reported).fillna(False).to_numpy())
        problems.rows(rows[before], scol, lambda i: f"resolved before reported ({resolved.iloc[before[i]]} < "
                      f"{reported.iloc[before[i]]})", summary="orders resolved before they were reported")
    else:
        resolved = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")

    # where
    area = frame[acol].astype("string").str.strip() if acol else pd.Series([pd.NA] * n, dtype="string")
    has_area = area.notna().to_numpy() & (area != "").fillna(False).to_numpy()
    if acol and area_check is not None and has_area.any():
        bad = area_check(sorted(set(area[has_area].tolist())))
        hit = np.flatnonzero(has_area & area.isin(list(bad)).fillna(False).to_numpy())
        problems.rows(rows[hit], acol, lambda i: f"{bad[area.iloc[hit[i]]]}: {area.iloc[hit[i]]}",
                      summary="unknown area codes")
    prop = frame[pcol].astype("string").str.strip() if pcol else pd.Series([pd.NA] * n, dtype="string")
    has_prop = prop.notna().to_numpy() & ~has_area
    out_cols = {c: np.full(n, None, dtype=object) for c in ("deso_code", "deso_division", "regso_code",
                                                           "regso_division")}
    if has_prop.any():
        known = properties if properties is not None else pd.DataFrame(columns=["property_ref"])
        lookup = known.drop_duplicates("property_ref").set_index("property_ref")
        hit = np.flatnonzero(has_prop & ~prop.isin(lookup.index.tolist()).fillna(False).to_numpy())
        problems.rows(rows[hit], pcol, lambda i: f"unknown property id {prop.iloc[hit[i]]!r} (not in the property "
                      "register)", summary="unknown property ids")
        ok = np.flatnonzero(has_prop & prop.isin(lookup.index.tolist()).fillna(False).to_numpy())
        for col in out_cols:
            if col in lookup.columns:
                values = lookup[col].reindex(prop.iloc[ok].tolist()).to_numpy(dtype=object)
                out_cols[col][ok] = [None if pd.isna(v) else v for v in values]
    coord_problems: list[tuple[int, str, str]] = []
    coords = parse_coordinates(frame, crs=crs, rows=rows, problems=coord_problems)
    need_xy = ~has_area & ~has_prop
    for row, column, reason in coord_problems:
        if need_xy[row - 2]:
            problems.add(row, column, reason)
    has_xy = coords["has"].to_numpy()
    nowhere = np.flatnonzero(need_xy & ~has_xy & ~np.isin(rows, [p[0] for p in coord_problems]))
    problems.rows(rows[nowhere], acol or pcol or xcol, "no area code, property id or coordinates",
                  summary="orders without a place")
    use_xy = np.flatnonzero(need_xy & has_xy)
    if len(use_xy):
        polygons = areas() if callable(areas) else areas
        if polygons is None or not len(polygons):
            problems.add(None, xcol, "coordinates need area polygons, and none are loaded")
        else:
            placed = assign_points_to_areas(coords["x_sweref"].to_numpy()[use_xy],
                                            coords["y_sweref"].to_numpy()[use_xy], polygons)
            for col in out_cols:
                if col in placed.columns:
                    out_cols[col][use_xy] = placed[col].to_numpy()
            finest = "deso_code" if "deso_code" in placed.columns else placed.columns[0]
            lost = use_xy[placed[finest].isna().to_numpy()]
            problems.rows(rows[lost], xcol, lambda i: f"not inside any area of the loaded polygons "
                          f"({coords['lon'].iloc[lost[i]]:.5f} °E, {coords['lat'].iloc[lost[i]]:.5f} °N)",
                          summary="orders outside every area")
    problems.raise_if_any("work orders")
    out = pd.DataFrame({
        "order_ref": refs.astype(object), "category": category.astype(object),
        "reported_at": reported, "resolved_at": resolved,
        "property_ref": prop.astype(object).where(has_prop, None),
        "x_sweref": np.where(need_xy, coords["x_sweref"], np.nan),
        "y_sweref": np.where(need_xy, coords["y_sweref"], np.nan),
        "area_code": area.astype(object).where(has_area, None), **out_cols, "row": rows,
    })
    counts = {"rows": n, "orders": n, "open": int(out["resolved_at"].isna().sum()),
              "by_area_code": int(has_area.sum()), "by_property": int(has_prop.sum()), "by_coordinates": len(use_xy)}
    return ParsedWorkOrders(out, table.file, counts)


def work_order_kpis(orders: pd.DataFrame, *, area: str = "area_code", by_category: bool = False,
                    sla_hours: Mapping[str, float] | None = None, default_sla_hours: float = DEFAULT_SLA_HOURS,
                    as_of: pd.Timestamp | str | None = None, start: str | None = None, end: str | None = None
                    ) -> pd.DataFrame:
    """Monthly KPIs per area (and category): see the module doc for the definitions.

    ``orders``: ``area`` column, ``category``, ``reported_at``, ``resolved_at`` (NaT = open).
    ``start``/``end``: months (``2024-01``) to report; the backlog still counts earlier orders.
    """
    keys = [area, "category"] if by_category else [area]
    columns = [*keys, "month", "reported", "resolved", "median_hours", "due", "within_sla", "within_sla_share",
               "backlog_end", "sla_hours"]
    if not len(orders):
        return pd.DataFrame(columns=columns)
    df = orders[[area, "category", "reported_at", "resolved_at"]].copy()
    df["reported_at"] = pd.to_datetime(df["reported_at"])
    df["resolved_at"] = pd.to_datetime(df["resolved_at"])
    if as_of is None:
        as_of = max(df["reported_at"].max(), df["resolved_at"].max() if df["resolved_at"].notna().any()
                    else df["reported_at"].max())
    as_of = pd.Timestamp(as_of)
    sla_hours = dict(sla_hours or {})
    sla = df["category"].map(lambda c: float(sla_hours.get(c, default_sla_hours))).astype(float)
    deadline = df["reported_at"] + pd.to_timedelta(sla, unit="h")
    done = df["resolved_at"].notna() & (df["resolved_at"] <= as_of)
    df["month"] = df["reported_at"].dt.to_period("M")
    df["resolved_month"] = df["resolved_at"].where(done).dt.to_period("M")
    df["resolved"] = done.astype(int)
    df["hours"] = ((df["resolved_at"] - df["reported_at"]).dt.total_seconds() / 3600).where(done)
    df["due"] = (done | (deadline <= as_of)).astype(int)
    df["within_sla"] = (done & (df["resolved_at"] <= deadline)).astype(int)
    df["sla_hours"] = sla
    grouped = df.groupby([*keys, "month"], observed=True, sort=True)
    monthly = grouped.agg(reported=("resolved", "size"), resolved=("resolved", "sum"),
                          median_hours=("hours", "median"), due=("due", "sum"), within_sla=("within_sla", "sum"),
                          sla_hours=("sla_hours", "first"))
    last = as_of.to_period("M")
    first = df["month"].min()
    months = pd.period_range(first, last, freq="M")
    opened = df.groupby([*keys, "month"], observed=True).size()
    closed = df[done].groupby([*keys, "resolved_month"], observed=True).size()
    closed.index = closed.index.set_names([*keys, "month"])
    out_frames = []
    for key, sub in monthly.groupby(level=list(range(len(keys))), observed=True):
        key = key if isinstance(key, tuple) else (key,)
        sub = sub.droplevel(list(range(len(keys))))
        group_first = sub.index.min()
        span = months[months >= group_first]
        frame = sub.reindex(span)
        o = _series_for(opened, key).reindex(span, fill_value=0)
        c = _series_for(closed, key).reindex(span, fill_value=0)
        frame["backlog_end"] = (o - c).cumsum().to_numpy()
        for col in ("reported", "resolved", "due", "within_sla"):
            frame[col] = frame[col].fillna(0).astype(int)
        if by_category:
            frame["sla_hours"] = float(sla_hours.get(key[-1], default_sla_hours))
        else:
            frame["sla_hours"] = np.nan
        for name, value in zip(keys, key, strict=True):
            frame[name] = value
        frame["month"] = [str(p) for p in span]
        out_frames.append(frame.reset_index(drop=True))
    out = pd.concat(out_frames, ignore_index=True)
    with np.errstate(all="ignore"):
        out["within_sla_share"] = np.where(out["due"] > 0, 100 * out["within_sla"] / out["due"].clip(lower=1),
                                           np.nan)
    if start:
        out = out[out["month"] >= str(pd.Period(start, "M"))]
    if end:
        out = out[out["month"] <= str(pd.Period(end, "M"))]
    return out[columns].reset_index(drop=True)


def _series_for(counts: pd.Series, key: tuple) -> pd.Series:
    try:
        sub = counts.loc[key] if len(key) > 1 else counts.xs(key[0], level=0)
    except KeyError:
        return pd.Series(dtype=int)
    if isinstance(sub, pd.Series) and isinstance(sub.index, pd.MultiIndex):
        sub = sub.droplevel(list(range(sub.index.nlevels - 1)))
    return sub
