"""Thin services for the analysis interfaces: store → frames → pure cores (:mod:`handslag.classify`,
:mod:`handslag.segregation`).

The CLI (``handslag types``, ``handslag segregation``) and the API (``/kommuner/{code}/area-types``
…) both call these functions and the ``*_payload`` helpers, so they return the same numbers and the
same JSON shape. Problems the user can fix raise :class:`AnalysisError` (data missing from the store,
bad input columns) or :class:`handslag.errors.NotFound` (unknown kommun or area) with a one-line
message; adapters turn them into exit code 1 / HTTP 422 (404).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handslag.classify import (
    LABELS,
    V1_ID,
    V2_ID,
    V3_ID,
    V3_SUBSTITUTE_ID,
    agreement,
    area_types,
    confusion_matrix,
    deso_components,
    distance_to_thresholds,
)
from handslag.classify import transition_matrix as _transition_matrix
from handslag.errors import HandslagError, NotFound
from handslag.segregation import INDEX_NAMES, compute_indices, result_to_json, with_inference
from handslag.store import areas_repo
from handslag.store.models import Area
from handslag.store.observations_repo import observations_frame

AREA_TYPE_INDICATOR = "area_type"
SOURCES = ("official", "computed")
LEVELS = ("regso", "deso")
COMPUTED_SOURCE = "computed (Handslag SEI)"


class AnalysisError(HandslagError):
    """The analysis cannot be done with what is in the store or in the input (message says why)."""


class MissingData(AnalysisError):
    """Indicators needed for an analysis are not in the store."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        self.missing = list(missing)
        super().__init__(message)


# --- helpers ----------------------------------------------------------------------------------------------


def check_kommun(session: Session, kommun: str) -> str:
    """Return ``kommun`` if the store knows it (as a kommun area or as the kommun of some area)."""
    code = str(kommun).strip()
    found = session.scalar(select(Area.code).where(or_(
        (Area.level == "kommun") & (Area.code == code), Area.kommun_code == code)).limit(1))
    if found is None:
        raise NotFound(f"unknown kommun {code!r} (no areas with that kommun code in the store)")
    return code


def _check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise AnalysisError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _one_division(frame: pd.DataFrame, complete: Sequence[str] | None = None) -> str:
    """The division with most areas (counting only areas that have every indicator in ``complete``)."""
    if complete:
        have = frame.groupby(["division", "area_code"])["indicator"].agg(lambda s: set(s) >= set(complete))
        per = have.groupby(level="division").sum()
    else:
        per = frame.groupby("division")["area_code"].nunique()
    return str(per.sort_values(ascending=False, kind="stable").index[0])


def type_counts(types: pd.Series, labels: Sequence[int] = LABELS) -> dict[str, int]:
    """``{"1": n1, …, "5": n5}`` (zeros included) for a series of types; missing types are not counted."""
    values = pd.to_numeric(types, errors="coerce").dropna().astype(int)
    counts = values.value_counts()
    return {str(k): int(counts.get(k, 0)) for k in labels}


# --- area types -------------------------------------------------------------------------------------------


def _official_types(session: Session, kommun: str | None, years: list[int] | None, level: str,
                    area_codes: list[str] | None = None) -> pd.DataFrame:
    obs = observations_frame(session, kommun=kommun, level=level, indicators=[AREA_TYPE_INDICATOR], years=years,
                             area_codes=area_codes)
    return obs[obs["source"].str.contains("official", case=False, na=False)]


def area_types_for(session: Session, kommun: str, year: int, source: str = "official",
                   level: str = "regso") -> pd.DataFrame:
    """Area types of the areas of ``kommun`` in ``year``.

    ``source="official"``: SCB's published types (observations ``area_type`` from an official
    source). ``source="computed"``: SEI = (V1 + V2 + V3)/3 from the component indicators in the
    store, typed with z against μ and σ over **all areas of the level in the store for that year**
    (the national distribution after a full import); at DeSO level V3 may be replaced by
    ``unemployment_20_64`` (flagged in ``substituted``).

    Returns a frame with ``code``, ``name``, ``type`` (Int64), ``year``, ``division``, ``source``
    (computed adds ``sei``, ``z``, ``v1``–``v3``, ``substituted``), sorted by code. ``attrs`` hold
    ``kommun``, ``year``, ``source``, ``level``, ``division`` (and ``reference`` for computed).

    Raises :class:`MissingData` naming the missing indicators, :class:`NotFound` for an unknown kommun.
    """
    _check_choice(source, SOURCES, "source")
    _check_choice(level, LEVELS, "level")
    kommun = check_kommun(session, kommun)
    year = int(year)
    if source == "official":
        obs = _official_types(session, kommun, [year], level)
        if obs.empty:
            years = sorted(_official_types(session, kommun, None, level)["year"].unique().tolist())
            avail = f"available years: {', '.join(map(str, years))}" if years else "none stored"
            raise MissingData(f"no official area types for kommun {kommun} at level {level} in {year} ({avail})",
                              [AREA_TYPE_INDICATOR])
        division = _one_division(obs)
        obs = obs[obs["division"] == division].sort_values(["area_code", "source"]).drop_duplicates("area_code")
        out = pd.DataFrame({"code": obs["area_code"].to_numpy(), "name": obs["name"].to_numpy(),
                            "type": pd.array(np.rint(obs["value"].to_numpy(dtype=float)), dtype="Int64"),
                            "year": year, "division": division, "source": obs["source"].to_numpy()})
        attrs: dict[str, Any] = {}
    else:
        out, attrs = _computed_types(session, kommun, year, level)
        division = attrs["division"]
    out = out.sort_values("code").reset_index(drop=True)
    out.attrs = {"kommun": kommun, "year": year, "source": source, "level": level, "division": division, **attrs}
    return out


def _computed_types(session: Session, kommun: str, year: int, level: str) -> tuple[pd.DataFrame, dict]:
    substitute = level == "deso"
    wanted = [V1_ID, V2_ID, V3_ID] + ([V3_SUBSTITUTE_ID] if substitute else [])
    local = observations_frame(session, kommun=kommun, level=level, indicators=wanted, years=[year])
    present = set(local["indicator"].dropna())
    missing = [i for i in (V1_ID, V2_ID) if i not in present]
    if V3_ID not in present and not (substitute and V3_SUBSTITUTE_ID in present):
        missing.append(V3_ID + (f" (or {V3_SUBSTITUTE_ID})" if substitute else ""))
    if missing:
        raise MissingData(f"cannot compute area types for kommun {kommun} at level {level} in {year}: "
                          f"missing indicator(s) {', '.join(missing)} in the store", missing)
    division = _one_division(local)
    allobs = observations_frame(session, division=division, level=level, indicators=wanted, years=[year])
    allobs = allobs.sort_values(["area_code", "indicator", "source"]).drop_duplicates(["area_code", "indicator"])
    comp = deso_components(allobs, area="area_code", substitute=substitute)
    typed = area_types(comp, sei="sei", year="year")
    dens = {c: f"{c}_den" for c in ("v1", "v2", "v3") if f"{c}_den" in comp.columns and comp[f"{c}_den"].notna().any()}
    nums = {c: f"{c}_num" for c in dens if f"{c}_num" in comp.columns}
    dist = distance_to_thresholds(comp, "sei", "year", denominators=dens or None, numerators=nums or None)
    dist_cols = [c for c in dist.columns if c.startswith(("points_", "persons_", "cut_"))]
    comp = pd.concat([comp, typed[["z", "type"]], dist[dist_cols]], axis=1)
    names = allobs.drop_duplicates("area_code").set_index("area_code")
    comp["name"] = comp["area_code"].map(names["name"])
    comp["kommun_code"] = comp["area_code"].map(names["kommun_code"])
    n_ref = int(comp["sei"].notna().sum())
    mine = comp[comp["kommun_code"] == kommun]
    if mine["sei"].notna().sum() == 0:
        raise MissingData(f"cannot compute area types for kommun {kommun} at level {level} in {year}: "
                          "no area has all three SEI components", [V1_ID, V2_ID, V3_ID])
    out = pd.DataFrame({"code": mine["area_code"].to_numpy(), "name": mine["name"].to_numpy(),
                        "type": mine["type"].astype("Int64").to_numpy(), "year": year, "division": division,
                        "source": COMPUTED_SOURCE, "sei": mine["sei"].to_numpy(), "z": mine["z"].to_numpy(),
                        "v1": mine["v1"].to_numpy(), "v2": mine["v2"].to_numpy(), "v3": mine["v3"].to_numpy(),
                        "substituted": mine["substituted"].to_numpy()})
    for col in dist_cols:  # distance to the neighbouring cut values, in index points and in persons
        out[col] = mine[col].to_numpy()
    sd = typed["sd"].dropna()
    agreement_info = _agreement_with_official(session, out, kommun, year, level, division)
    attrs = {"division": division, "agreement": agreement_info,
             "reference": f"mean and sample SD of the SEI over all {n_ref} {level} areas ({division}) with an "
                          f"SEI in {year} in the store",
             "mean": float(typed["mean"].dropna().iloc[0]) if len(sd) else None,
             "sd": float(sd.iloc[0]) if len(sd) else None}
    return out, attrs


def _agreement_with_official(session: Session, computed: pd.DataFrame, kommun: str, year: int, level: str,
                             division: str) -> dict[str, Any] | None:
    """Confusion matrix and agreement of computed vs official types for the same areas, division and year."""
    official = _official_types(session, kommun, [year], level)
    official = official[official["division"] == division].drop_duplicates("area_code")
    if official.empty:
        return None
    off = pd.Series(np.rint(official["value"].to_numpy(dtype=float)).astype(int), index=official["area_code"])
    comp = computed.set_index("code")["type"].dropna().astype(int)
    common = comp.index.intersection(off.index)
    if common.empty:
        return None
    matrix = confusion_matrix(comp.loc[common], off.loc[common])
    stats = agreement(comp.loc[common], off.loc[common])
    return {"n": int(stats["n"]), "share_equal": float(stats["share_equal"]),
            "share_within_one": float(stats["share_within_one"]), "kappa": float(stats["kappa"]),
            "confusion": {str(r): {str(c): int(matrix.loc[r, c]) for c in matrix.columns}
                          for r in matrix.index},
            "rows": "computed", "columns": "official"}


def area_types_payload(types: pd.DataFrame) -> dict[str, Any]:
    """JSON shape: ``{"kommun", "year", "source", "division", "counts": {"1": n…}, "areas": [...]}``."""
    a = types.attrs
    areas = []
    for row in types.to_dict(orient="records"):
        item: dict[str, Any] = {"code": row["code"], "name": row["name"],
                                "type": None if pd.isna(row["type"]) else int(row["type"])}
        if a.get("source") == "computed":
            item["sei"] = None if pd.isna(row["sei"]) else float(row["sei"])
            item["z"] = None if pd.isna(row["z"]) else float(row["z"])
            item["substituted"] = None if pd.isna(row["substituted"]) else str(row["substituted"])
            item["distance"] = {k: (None if pd.isna(v) else (int(v) if k.startswith("persons_") else float(v)))
                                for k, v in row.items() if k.startswith(("points_", "persons_", "cut_"))}
        areas.append(item)
    out: dict[str, Any] = {"kommun": a.get("kommun"), "year": a.get("year"), "source": a.get("source"),
                           "level": a.get("level"), "division": a.get("division"),
                           "counts": type_counts(types["type"]), "areas": areas}
    if a.get("source") == "computed":
        out["reference"] = {"description": a.get("reference"), "mean": a.get("mean"), "sd": a.get("sd")}
        out["agreement_with_official"] = a.get("agreement")
    return out


def type_history(session: Session, code: str) -> pd.DataFrame:
    """Every stored type of area ``code``: ``year``, ``type``, ``source``, ``division`` (sorted by year)."""
    area = areas_repo.get_area(session, code)  # NotFound for an unknown code
    obs = observations_frame(session, area_codes=[area.code], indicators=[AREA_TYPE_INDICATOR])
    obs = obs.sort_values(["year", "source", "division"])
    return pd.DataFrame({"year": obs["year"].astype(int).to_numpy(),
                         "type": pd.array(np.rint(obs["value"].to_numpy(dtype=float)), dtype="Int64"),
                         "source": obs["source"].to_numpy(), "division": obs["division"].to_numpy()})


def type_history_records(history: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"year": int(r["year"]), "type": None if pd.isna(r["type"]) else int(r["type"]),
             "source": r["source"], "division": r["division"]} for r in history.to_dict(orient="records")]


# --- transitions ------------------------------------------------------------------------------------------


def transitions_for(session: Session, kommun: str, year_from: int, year_to: int, source: str = "official",
                    level: str = "regso") -> pd.DataFrame:
    """Type transitions of the areas of ``kommun`` from ``year_from`` to ``year_to``.

    Long frame ``type_from``, ``type_to``, ``count``, ``row_share`` (all 5 × 5 pairs); only areas typed
    in both years count. ``attrs``: ``kommun``, ``from``, ``to``, ``source``, ``n_areas``, ``n_changed``.
    """
    first = area_types_for(session, kommun, year_from, source, level)
    second = area_types_for(session, kommun, year_to, source, level)
    types = pd.concat([first[["code", "year", "type"]], second[["code", "year", "type"]]], ignore_index=True)
    types = types.dropna(subset=["type"])
    out = _transition_matrix(types, int(year_from), int(year_to), area="code", year="year", type_col="type")
    changed = out.loc[out["type_from"] != out["type_to"], "count"].sum()
    out.attrs = {"kommun": first.attrs["kommun"], "from": int(year_from), "to": int(year_to), "source": source,
                 "level": level, "division": second.attrs["division"], "n_areas": int(out["count"].sum()),
                 "n_changed": int(changed)}
    return out


def transitions_payload(matrix: pd.DataFrame) -> dict[str, Any]:
    """``{"kommun", "from", "to", "source", "n_areas", "n_changed", "counts": {from: {to: n}}, "matrix": [...]}``."""
    counts: dict[str, dict[str, int]] = {}
    rows = []
    for r in matrix.to_dict(orient="records"):
        counts.setdefault(str(int(r["type_from"])), {})[str(int(r["type_to"]))] = int(r["count"])
        rows.append({"type_from": int(r["type_from"]), "type_to": int(r["type_to"]), "count": int(r["count"]),
                     "row_share": None if pd.isna(r["row_share"]) else float(r["row_share"])})
    return {**matrix.attrs, "counts": counts, "matrix": rows}


# --- segregation ------------------------------------------------------------------------------------------


def _indices_of(result: pd.DataFrame) -> list[str]:
    return [n for n in INDEX_NAMES if n in result.columns]


def _run_indices(frame: pd.DataFrame, unit: str, groups: list[str], by: list[str] | None, *, n_boot: int,
                 n_perm: int, seed: int | None, **extra: str | None) -> pd.DataFrame:
    if n_boot or n_perm:
        return with_inference(frame, unit, groups, by or None, n_boot=n_boot, n_perm=n_perm, seed=seed, **extra)
    return compute_indices(frame, unit, groups, by or None, **extra)


# Extra columns used when the store has them for the same division and year: the Gini of area means of
# this income indicator (weighted by population) and the population share living in area types 1–2.
GINI_INDICATOR = "mean_wage_income"


def _check_groups(groups: Sequence[str]) -> list[str]:
    groups = [g.strip() for g in groups if g and g.strip()]
    if len(groups) < 2:
        raise AnalysisError("give at least two groups (e.g. foreign_born,born_in_sweden)")
    if len(set(groups)) != len(groups):
        raise AnalysisError(f"groups must be distinct; got {', '.join(groups)}")
    return groups


def segregation_for(session: Session, kommun: str | None, year: int, groups: Sequence[str],
                    level: str = "regso", n_boot: int = 0, n_perm: int = 0, seed: int | None = 0) -> pd.DataFrame:
    """Segregation indices per kommun (``kommun=None``: every kommun) from the stored group counts.

    ``groups`` are count indicators that partition the population (e.g. ``foreign_born``,
    ``born_in_sweden``), read at ``level`` in ``year``; the first group is the focal one. With
    ``n_boot``/``n_perm`` > 0 the result carries bootstrap CIs and permutation p-values
    (:func:`handslag.segregation.with_inference`). One row per kommun: ``kommun``, ``year``,
    ``level``, ``division``, ``n_units``, ``population``, the indices and ``notes``.
    """
    groups = _check_groups(groups)
    _check_choice(level, LEVELS, "level")
    if kommun is not None:
        kommun = check_kommun(session, kommun)
    obs = observations_frame(session, kommun=kommun, level=level, indicators=groups, years=[int(year)])
    missing = [g for g in groups if g not in set(obs["indicator"])]
    if missing:
        where = f"kommun {kommun}" if kommun else "any kommun"
        raise MissingData(f"no {level} counts for {', '.join(missing)} in {year} for {where} in the store",
                          missing)
    division = _one_division(obs, complete=groups)
    obs = obs[obs["division"] == division]
    extras = [i for i in ("population", GINI_INDICATOR, AREA_TYPE_INDICATOR) if i not in groups]
    more = observations_frame(session, kommun=kommun, division=division, indicators=extras, years=[int(year)])
    if AREA_TYPE_INDICATOR in set(more["indicator"]):
        is_type = more["indicator"] == AREA_TYPE_INDICATOR
        more = more[~is_type | more["source"].str.contains("official", case=False, na=False)]
    obs = pd.concat([obs, more], ignore_index=True)
    wide = obs.pivot_table(index=["area_code", "kommun_code"], columns="indicator", values="value",
                           aggfunc="first").reset_index()
    complete = wide[groups].notna().all(axis=1)
    wide = wide[complete]
    have = set(wide.columns)
    pop_col = "population" if "population" in have and wide["population"].notna().all() else None
    extra = {"population": pop_col,
             "value": GINI_INDICATOR if pop_col and GINI_INDICATOR in have and wide[GINI_INDICATOR].notna().all()
             else None,
             "area_type": AREA_TYPE_INDICATOR if AREA_TYPE_INDICATOR in have
             and wide[AREA_TYPE_INDICATOR].notna().all() else None}
    result = _run_indices(wide, "area_code", groups, ["kommun_code"], n_boot=n_boot, n_perm=n_perm, seed=seed,
                          **extra)
    result = result.rename(columns={"kommun_code": "kommun"})
    result.insert(1, "year", int(year))
    result.insert(2, "level", level)
    result.insert(3, "division", division)
    result.attrs.update({"groups": groups, "division": division, "dropped_incomplete": int((~complete).sum()),
                         "gini_of": extra["value"], "types_from": extra["area_type"],
                         "n_boot": int(n_boot), "n_perm": int(n_perm), "seed": seed})
    return result


def segregation_payload(result: pd.DataFrame, row: int = 0) -> dict[str, Any]:
    """One kommun's result: ``kommun, year, level, division, groups, n_units, population, indices, notes,
    inference``; each index is ``{"value", "ci_low", "ci_high", "p_value"}`` under its name."""
    r = result.iloc[row]
    notes = r.get("notes")
    return {"kommun": r["kommun"], "year": int(r["year"]), "level": r["level"], "division": r["division"],
            "groups": result.attrs.get("groups"), "n_units": int(r["n_units"]),
            "population": float(r["population"]),
            "indices": result_to_json(r, _indices_of(result)),
            "notes": None if notes is None or pd.isna(notes) or notes == "" else str(notes),
            "inference": {k: result.attrs.get(k) for k in ("n_boot", "n_perm", "seed")}}


def segregation_from_frame(frame: pd.DataFrame, unit: str, groups: Sequence[str], by: Sequence[str] = (), *,
                           n_boot: int = 0, n_perm: int = 0, seed: int | None = 0,
                           source: str = "input") -> pd.DataFrame:
    """Indices for an analyst's own table (one row per area, count columns ``groups``), one row per ``by``.

    Validates columns and counts first and raises :class:`AnalysisError` with one line naming the
    problem (unknown column, non-numeric or negative count, missing unit).
    """
    groups = _check_groups(groups)
    by = [b.strip() for b in by if b and b.strip()]
    unknown = [c for c in [unit, *groups, *by] if c not in frame.columns]
    if unknown:
        raise AnalysisError(f"{source}: unknown column(s) {', '.join(unknown)} "
                            f"(columns are: {', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise AnalysisError(f"{source}: no data rows")
    data = frame[[unit, *by]].copy()
    for g in groups:
        values = pd.to_numeric(frame[g], errors="coerce")
        bad = values.isna() & frame[g].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise AnalysisError(f"{source}: column {g} must hold numbers; row {i + 2} has {frame[g].iloc[i]!r}")
        if values.isna().any():
            i = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise AnalysisError(f"{source}: column {g} is empty in row {i + 2}")
        if (values < 0).any():
            i = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise AnalysisError(f"{source}: column {g} has a negative count in row {i + 2}")
        data[g] = values.to_numpy(dtype=float)
    if data[unit].isna().any():
        i = int(np.flatnonzero(data[unit].isna().to_numpy())[0])
        raise AnalysisError(f"{source}: column {unit} is empty in row {i + 2}")
    if data.duplicated([unit, *by]).any():
        i = int(np.flatnonzero(data.duplicated([unit, *by]).to_numpy())[0])
        raise AnalysisError(f"{source}: unit {data[unit].iloc[i]!r} appears twice (row {i + 2})")
    try:
        result = _run_indices(data, unit, groups, by, n_boot=n_boot, n_perm=n_perm, seed=seed)
    except ValueError as exc:
        raise AnalysisError(f"{source}: {exc}") from exc
    result.attrs.update({"groups": groups, "n_boot": int(n_boot), "n_perm": int(n_perm), "seed": seed})
    return result


def segregation_records(result: pd.DataFrame) -> list[dict[str, Any]]:
    """``results_to_records`` restricted to the computed indices (``{"key", "n_units", "population",
    "indices", "notes"}`` per row)."""
    from handslag.segregation import results_to_records

    return results_to_records(result, _indices_of(result))
