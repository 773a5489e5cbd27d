"""SCB Statistikdatabasen client: PxWebApi 2.0 first, the PxWeb v1 API as fallback.

API facts used here (see ``docs/sources-api.md`` and the methods brief §4):

* v2 (``https://statistikdatabasen.scb.se/api/v2``): ``GET /tables?query=&pastDays=&lang=``,
  ``GET /tables/{id}/metadata?lang=&codelist[Var]=`` (a JSON-stat 2.0 dataset without values),
  ``POST /tables/{id}/data?lang=&outputFormat=json-stat2`` with
  ``{"selection": [{"variableCode", "codelist"?, "valueCodes": [...]}]}``. Limits: 30 calls per
  10 s, 150,000 cells per request; HTTP 429 when exceeded.
* v1 (``https://api.scb.se/OV0104/v1/doris/sv/ssd``): ``GET <path>`` gives
  ``{"title", "variables": [{"code", "text", "values", "valueTexts", "elimination", "time"}]}``,
  ``POST <path>`` with ``{"query": [{"code", "selection": {"filter": "item", "values"}}],
  "response": {"format": "json-stat2"}}``. Limits: 10 calls per 10 s, 100,000 cells; HTTP 403
  when exceeded.

Selections are ``{variable: [expressions]}``. v2 expressions (``*``, ``1480*``, ``*3``, ``?``,
``top(n)``, ``bottom(n)``, ``from(x)``, ``to(x)``, ``range(x,y)``) are sent unchanged, except
for the one variable that has to be split to stay under the cell limit, which is expanded to
explicit codes from the table's metadata. On v1 every selection is expanded to explicit codes.

Region codes in the answers are split into a plain code and a ``division`` column (see
:func:`split_region_code`). :func:`to_observations` turns a decoded table into the tidy
observation frame used by the store, using the built-in :data:`SCB_MAPPINGS` (to be moved into
the indicator catalogue).
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from handslag.areas.codes import code_level, split_suffix
from handslag.sources.http import (
    HttpClient,
    NotFoundError,
    RetryPolicy,
    SlidingWindowLimiter,
    SourceError,
    SourceUnavailableError,
)
from handslag.sources.jsonstat import STATUS, VALUE, category_codes, category_labels, decode_jsonstat2

log = logging.getLogger(__name__)

BASE_URL_V2 = "https://statistikdatabasen.scb.se/api/v2"
BASE_URL_V1 = "https://api.scb.se/OV0104/v1/doris/sv/ssd"
MAX_CELLS_V2 = 150_000
MAX_CELLS_V1 = 100_000
RATE_V2 = (30, 10.0)  # calls, seconds
RATE_V1 = (10, 10.0)

#: v1 paths (relative to ``base_url_v1``) of the v2 tables used by Handslag (methods brief §4.4).
V1_PATHS: dict[str, str] = {
    "TAB6574": "BE/BE0101/BE0101Y/FolkmDesoAldKon",
    "TAB6571": "BE/BE0101/BE0101Y/FolkmDesoBakgrKon",
    "TAB6572": "BE/BE0101/BE0101Y/FolkmDesoLandKon",
    "TAB6569": "BE/BE0101/BE0101Y/FolkmDesoMedKon",
    "TAB6568": "BE/BE0101/BE0101Y/HushallDesoTyp",
    "TAB6680": "AM/AM0210/AM0210G/ArRegDesoStatusN",
    "TAB6681": "AM/AM0210/AM0210G/ArRegDesoSNI2007N",
    "TAB6682": "AM/AM0210/AM0210G/ArRegDesoSektorN",
    "TAB5956": "UF/UF0506/UF0506D/UtbSUNBefDesoRegso",
    "TAB6534": "UF/UF0506/UF0506D/UtbSUNBefDesoRegsoN",
    "TAB6679": "HE/HE0110/HE0110I/Tab1InkDesoRegso",
    "TAB6683": "HE/HE0110/HE0110I/Tab2InkDesoRegso",
    "TAB6684": "HE/HE0110/HE0110I/Tab3InkDesoRegso",
    "TAB6685": "HE/HE0110/HE0110I/Tab4InkDesoRegso",
}

#: Region code lists in Statistikdatabasen and the codes they hold (v2 answers carry the suffix;
#: used on v1, which has no code lists, to pick the right codes out of the variable's values).
CODELIST_PATTERNS: dict[str, re.Pattern[str]] = {
    "vs_DeSO2025": re.compile(r"^\d{4}[ABC]\d{4}_DeSO2025$"),
    "vs_RegSO2025": re.compile(r"^\d{4}R\d{3}_RegSO2025$"),
    "vs_DeSO2018": re.compile(r"^\d{4}[ABC]\d{4}$"),
    "vs_RegSO2020": re.compile(r"^\d{4}R\d{3}$"),
}

#: First reference year published on the 2025 divisions (DeSO 2025 / RegSO 2025).
DIVISION_2025_FROM_YEAR = 2024
#: Region code list per level and division period: (up to 2023, from 2024).
LEVEL_CODELISTS: dict[str, tuple[str, str]] = {
    "deso": ("vs_DeSO2018", "vs_DeSO2025"),
    "regso": ("vs_RegSO2020", "vs_RegSO2025"),
}


# --------------------------------------------------------------------------- region codes



def split_region_code(code: str) -> tuple[str, str | None]:
    """Split an SCB region code into (plain code, division).

    ``1480C3390_DeSO2025`` → (``1480C3390``, ``DeSO2025``); ``1480R012_RegSO2025`` → (…,
    ``RegSO2025``); an unsuffixed DeSO code (``^\\d{4}[ABC]\\d{4}$``) → ``DeSO2018``; RegSO
    (``^\\d{4}R\\d{3}$``) → ``RegSO2020``; 4 digits → ``kommun``; ``00`` → ``riket``; other 2 digits →
    ``lan``; anything else → ``None``.
    """
    code, division = split_suffix(str(code))
    if division:
        return code, division
    level = code_level(code)
    unsuffixed = {"deso": "DeSO2018", "regso": "RegSO2020", "kommun": "kommun", "lan": "lan", "riket": "riket"}
    return code, unsuffixed.get(level) if level else None


def add_division(frame: pd.DataFrame, column: str = "Region") -> pd.DataFrame:
    """Strip division suffixes from ``frame[column]`` and add a ``division`` column after it."""
    if column not in frame.columns:
        return frame
    pairs = [split_region_code(c) for c in frame[column].astype(str)]
    out = frame.copy()
    out[column] = pd.Series([p[0] for p in pairs], index=frame.index, dtype="string")
    out.insert(
        out.columns.get_loc(column) + 1,
        "division",
        pd.Series([p[1] for p in pairs], index=frame.index, dtype="string"),
    )
    return out


# --------------------------------------------------------------------------- metadata model


@dataclass(frozen=True)
class Codelist:
    """A code list (value set ``vs_…`` or aggregation ``agg_…``) offered for a variable."""

    id: str
    label: str = ""
    type: str = ""


@dataclass(frozen=True)
class Variable:
    """One variable (dimension) of a table."""

    code: str
    label: str
    values: tuple[str, ...]
    value_labels: tuple[str, ...]
    elimination: bool = False
    time: bool = False
    role: str | None = None  # "time", "geo", "metric" or None
    codelists: tuple[Codelist, ...] = ()

    @property
    def codelist_ids(self) -> tuple[str, ...]:
        """Ids of the code lists offered for this variable."""
        return tuple(c.id for c in self.codelists)


@dataclass(frozen=True)
class TableMetadata:
    """Variables of a table as the API describes them."""

    table_id: str
    label: str
    variables: tuple[Variable, ...]
    api: str  # "v2" or "v1"
    source: str = "SCB"
    updated: str | None = None
    notes: tuple[str, ...] = ()

    def variable(self, code: str) -> Variable:
        """The variable with this code (``KeyError`` listing the known codes otherwise)."""
        for var in self.variables:
            if var.code == code:
                return var
        raise KeyError(f"{self.table_id} has no variable {code!r}; it has {[v.code for v in self.variables]}")

    @property
    def codes(self) -> list[str]:
        """Variable codes in table order."""
        return [v.code for v in self.variables]

    @property
    def time_variable(self) -> Variable | None:
        """The time variable, if any."""
        return next((v for v in self.variables if v.time), None)

    @property
    def geo_variable(self) -> Variable | None:
        """The region variable, if any."""
        return next((v for v in self.variables if v.role == "geo"), None)


def parse_metadata_v2(doc: Mapping[str, Any], table_id: str) -> TableMetadata:
    """Parse the JSON-stat 2.0 metadata document of ``GET /tables/{id}/metadata``."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("dimension"), Mapping):
        raise SourceError(f"{table_id}: the v2 metadata answer is not a JSON-stat dataset")
    role = doc.get("role") or {}
    time_vars = set(role.get("time") or [])
    geo_vars = set(role.get("geo") or [])
    metric_vars = set(role.get("metric") or [])
    dims = doc.get("dimension") or {}
    variables = []
    for code in doc.get("id") or list(dims):
        dim = dims[code]
        ext = dim.get("extension") or {}
        lists = tuple(
            Codelist(id=str(c.get("id")), label=str(c.get("label", "")), type=str(c.get("type", "")))
            for c in ext.get("codelists") or []
            if isinstance(c, Mapping) and c.get("id")
        )
        role_name = (
            "time" if code in time_vars else "geo" if code in geo_vars else "metric" if code in metric_vars else None
        )
        variables.append(
            Variable(
                code=str(code),
                label=str(dim.get("label", code)),
                values=tuple(category_codes(dim)),
                value_labels=tuple(category_labels(dim)),
                elimination=bool(ext.get("elimination", False)),
                time=code in time_vars,
                role=role_name,
                codelists=lists,
            )
        )
    notes = tuple(str(n) for n in doc.get("note") or [] if isinstance(n, str))
    return TableMetadata(
        table_id=table_id,
        label=str(doc.get("label", table_id)),
        variables=tuple(variables),
        api="v2",
        source=str(doc.get("source", "SCB")),
        updated=doc.get("updated"),
        notes=notes,
    )


def parse_metadata_v1(doc: Mapping[str, Any], table_id: str) -> TableMetadata:
    """Parse the v1 table metadata ``{"title", "variables": [...]}``."""
    if not isinstance(doc, Mapping) or "variables" not in doc:
        raise SourceError(f"{table_id}: the v1 answer has no variables (is the path a folder, not a table?)")
    variables = []
    for var in doc.get("variables") or []:
        code = str(var["code"])
        values = tuple(str(v) for v in var.get("values") or [])
        texts = tuple(str(t) for t in var.get("valueTexts") or values)
        is_time = bool(var.get("time", False))
        role = "time" if is_time else "geo" if code == "Region" else "metric" if code == "ContentsCode" else None
        variables.append(
            Variable(
                code=code,
                label=str(var.get("text", code)),
                values=values,
                value_labels=texts,
                elimination=bool(var.get("elimination", False)),
                time=is_time,
                role=role,
            )
        )
    return TableMetadata(table_id=table_id, label=str(doc.get("title", table_id)), variables=tuple(variables), api="v1")


# --------------------------------------------------------------------------- selection expressions

_FUNC = re.compile(r"^(?P<name>top|bottom|from|to|range)\((?P<args>[^)]*)\)$", re.IGNORECASE)

Selection = Mapping[str, Sequence[str]]


def is_expression(value: str) -> bool:
    """True when ``value`` is a selection expression rather than a plain code."""
    return "*" in value or "?" in value or bool(_FUNC.match(value.strip()))


def _position(values: Sequence[str], code: str, *, upper: bool) -> int | None:
    """Index of ``code`` in ``values``; if absent, where it would sort (for from/to on years)."""
    try:
        return values.index(code)
    except ValueError:
        pass
    if not values:
        return None
    # Fall back to ordering (works for time codes such as 2019, 2019K1, 2019M01).
    if upper:
        below = [i for i, v in enumerate(values) if v <= code]
        return max(below) if below else -1
    above = [i for i, v in enumerate(values) if v >= code]
    return min(above) if above else len(values)


def expand_expression(expr: str, values: Sequence[str], *, is_time: bool = False) -> list[str] | None:
    """Codes of ``values`` matched by one selection expression, or ``None`` if it cannot be expanded.

    ``*`` wildcards and ``?`` (one character) match codes; ``top(n)`` is the n latest periods of a
    time variable (the last n values) and the first n otherwise; ``bottom(n)`` the opposite;
    ``from(x)``, ``to(x)`` and ``range(x,y)`` are inclusive positions in the value list. A plain code
    matches itself only if the variable has it.
    """
    expr = expr.strip()
    values = list(values)
    match = _FUNC.match(expr)
    if match:
        name = match.group("name").lower()
        args = [a.strip() for a in match.group("args").split(",") if a.strip()]
        try:
            if name in ("top", "bottom"):
                n = int(args[0])
                if n < 0:
                    return None
                first = values[:n]
                last = values[-n:] if n else []
                return (last if is_time else first) if name == "top" else (first if is_time else last)
            if name == "from":
                start = _position(values, args[0], upper=False)
                return values[start:] if start is not None else None
            if name == "to":
                end = _position(values, args[0], upper=True)
                return values[: end + 1] if end is not None else None
            if name == "range":
                start = _position(values, args[0], upper=False)
                end = _position(values, args[1], upper=True)
                if start is None or end is None:
                    return None
                return values[start : end + 1]
        except (IndexError, ValueError):
            return None
    if "*" in expr or "?" in expr:
        pattern = re.compile(fnmatch.translate(expr).replace("(?s:", "(?:"))
        return [v for v in values if pattern.match(v)]
    return [expr] if expr in values else None


def expand_selection(exprs: Sequence[str], values: Sequence[str], *, is_time: bool = False) -> list[str] | None:
    """Union of the codes matched by ``exprs``, in the variable's order; ``None`` if any is unknown."""
    wanted: set[str] = set()
    for expr in exprs:
        codes = expand_expression(expr, values, is_time=is_time)
        if codes is None:
            return None
        wanted.update(codes)
    return [v for v in values if v in wanted]


@dataclass
class _VarPlan:
    """One variable's part of a request: what to send and what it expands to (if known)."""

    code: str
    send: list[str]  # expressions or codes as given by the caller
    expanded: list[str] | None  # concrete codes, when metadata allowed expansion
    codelist: str | None
    count: int  # number of cells this variable contributes


def count_cells(plans: Iterable[_VarPlan]) -> int:
    """Number of cells a request for these variable plans returns."""
    return int(math.prod(p.count for p in plans))


def split_plans(plans: list[_VarPlan], max_cells: int) -> list[list[_VarPlan]]:
    """Split a request into requests of at most ``max_cells`` cells.

    The variable with the most (expanded) values is cut into chunks as large as the limit allows;
    if even single values of it are too large, the next largest variable is split as well. Only
    variables whose selection could be expanded to concrete codes are split.
    """
    total = count_cells(plans)
    if total <= max_cells:
        return [plans]
    candidates = [p for p in plans if p.expanded is not None and len(p.expanded) > 1]
    if not candidates:
        raise SourceError(
            f"request of {total} cells exceeds the limit of {max_cells} and no variable can be split "
            "(selection expressions could not be expanded from the metadata)"
        )
    biggest = max(candidates, key=lambda p: len(p.expanded or []))
    assert biggest.expanded is not None
    rest = total // biggest.count
    chunk = max(1, max_cells // max(rest, 1))
    out: list[list[_VarPlan]] = []
    for start in range(0, len(biggest.expanded), chunk):
        part = biggest.expanded[start : start + chunk]
        sub = [_VarPlan(p.code, list(part), list(part), p.codelist, len(part)) if p is biggest else p for p in plans]
        out.extend(split_plans(sub, max_cells))
    return out


# --------------------------------------------------------------------------- mapping to observations


@dataclass(frozen=True)
class IndicatorSpec:
    """How one indicator is read from a decoded table.

    ``value`` selects cells whose value is the indicator (e.g. ``{"ContentsCode": "000007Y7"}``);
    or ``numerator`` and ``denominator`` select two cells per area and year and the value is
    ``scale × numerator / denominator``. Variables not named in a filter must have one value per
    area and year in the fetched frame (fix them in the table's selection).
    """

    indicator: str
    unit: str
    value: Mapping[str, str] | None = None
    numerator: Mapping[str, str] | None = None
    denominator: Mapping[str, str] | None = None
    scale: float = 100.0

    def __post_init__(self) -> None:
        if (self.value is None) == (self.numerator is None or self.denominator is None):
            raise ValueError(f"{self.indicator}: give either value or numerator+denominator")


@dataclass(frozen=True)
class TableMapping:
    """Which selection to fetch from a table and which indicators it gives."""

    table_id: str
    selection: Mapping[str, Sequence[str]]
    indicators: tuple[IndicatorSpec, ...]
    region_var: str = "Region"
    time_var: str = "Tid"
    note: str = ""

    @property
    def source(self) -> str:
        """The provenance string, e.g. ``SCB TAB6680``."""
        return f"SCB {self.table_id}"


#: Built-in table → indicator mappings (to move into the indicator catalogue). Codes are from the
#: methods brief §4.4 and SOURCES.md of the shared data; marked unverified where only third-party
#: code showed them.
SCB_MAPPINGS: dict[str, TableMapping] = {
    "TAB6574": TableMapping(
        table_id="TAB6574",
        selection={"Alder": ["totalt"], "Kon": ["1+2"], "ContentsCode": ["000007Y7"]},
        indicators=(IndicatorSpec("population", unit="persons", value={"ContentsCode": "000007Y7"}),),
        note="Folkmängd 31 Dec, all ages, both sexes. ContentsCode 000007Y7 [C]; Alder 'totalt', Kon '1+2' [S].",
    ),
    "TAB6680": TableMapping(
        table_id="TAB6680",
        selection={
            "Kon": ["1+2"],
            "Alder": ["20-64"],
            "ContentsCode": ["0000089V", "0000089W", "0000089X", "0000089Y"],
        },
        indicators=(
            IndicatorSpec(
                "employment_20_64",
                unit="percent",
                numerator={"ContentsCode": "0000089X"},
                denominator={"ContentsCode": "0000089Y"},
            ),
            IndicatorSpec(
                "unemployment_20_64",
                unit="percent",
                numerator={"ContentsCode": "0000089W"},
                denominator={"ContentsCode": "0000089V"},
            ),
        ),
        note="BAS: employed 0000089X / population 0000089Y; unemployed 0000089W / labour force 0000089V [S]; "
        "Alder '20-64' [S].",
    ),
    "TAB6685": TableMapping(
        table_id="TAB6685",
        selection={"Alder": ["tot"], "ContentsCode": ["000008AC"]},
        indicators=(IndicatorSpec("low_economic_standard", unit="percent", value={"ContentsCode": "000008AC"}),),
        note="Share (%) of persons with low economic standard, all ages: 000008AC, Alder 'tot' [S].",
    ),
    "TAB6571": TableMapping(
        table_id="TAB6571",
        selection={"UtlBakgrund": ["1", "SA"], "Kon": ["1+2"], "ContentsCode": ["000007Y4"]},
        indicators=(
            IndicatorSpec(
                "foreign_background",
                unit="percent",
                numerator={"UtlBakgrund": "1"},
                denominator={"UtlBakgrund": "SA"},
            ),
        ),
        note="Persons with foreign background (UtlBakgrund 1) / all (SA), 000007Y4 [S, codes unverified].",
    ),
}

OBSERVATION_COLUMNS = [
    "area_code",
    "division",
    "indicator",
    "year",
    "value",
    "numerator",
    "denominator",
    "unit",
    "source",
    "status",
    "suppressed",
]


def empty_observations() -> pd.DataFrame:
    """An observation frame without rows (right columns and dtypes)."""
    return pd.DataFrame(
        {
            "area_code": pd.Series(dtype="string"),
            "division": pd.Series(dtype="string"),
            "indicator": pd.Series(dtype="string"),
            "year": pd.Series(dtype="int64"),
            "value": pd.Series(dtype="float64"),
            "numerator": pd.Series(dtype="float64"),
            "denominator": pd.Series(dtype="float64"),
            "unit": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
            "status": pd.Series(dtype="string"),
            "suppressed": pd.Series(dtype="bool"),
        }
    )


def _pick(frame: pd.DataFrame, filters: Mapping[str, str], keys: list[str], what: str) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for var, code in filters.items():
        if var not in frame.columns:
            raise KeyError(f"{what}: column {var!r} is not in the fetched table (columns: {list(frame.columns)})")
        mask &= frame[var] == code
    part = frame.loc[mask, [*keys, VALUE, STATUS]]
    if part.duplicated(keys).any():
        varying = [
            c for c in frame.columns if c not in (*keys, VALUE, STATUS, "division") and frame.loc[mask, c].nunique() > 1
        ]
        raise ValueError(f"{what}: several cells per area and year; fix these variables in the selection: {varying}")
    return part


def to_observations(frame: pd.DataFrame, mapping: TableMapping | str) -> pd.DataFrame:
    """Turn a decoded table (from :meth:`PxWebClient.data`) into observations.

    Columns: ``area_code, division, indicator, year, value, numerator, denominator, unit, source,
    status, suppressed``. For ratio indicators ``numerator``/``denominator`` hold the two counts and
    ``value = scale × numerator / denominator`` (NaN when either is missing or the denominator is
    0); ``status`` carries SCB's symbol (e.g. ``..``) of the value or of either count, and
    ``suppressed`` is true where the value is missing and a status symbol explains why.
    """
    if isinstance(mapping, str):
        mapping = SCB_MAPPINGS[mapping]
    if frame.empty:
        return empty_observations()
    region, time_var = mapping.region_var, mapping.time_var
    work = frame if "division" in frame.columns else add_division(frame, region)
    keys = [region, "division", time_var]
    pieces = []
    for spec in mapping.indicators:
        what = f"{mapping.table_id}/{spec.indicator}"
        if spec.value is not None:
            part = _pick(work, spec.value, keys, what)
            out = pd.DataFrame(
                {
                    "area_code": part[region].astype("string").to_numpy(),
                    "division": part["division"].astype("string").to_numpy(),
                    "year": part[time_var].astype(int).to_numpy(),
                    "value": part[VALUE].to_numpy(dtype=float),
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "status": part[STATUS].to_numpy(),
                }
            )
        else:
            assert spec.numerator is not None and spec.denominator is not None
            num = _pick(work, spec.numerator, keys, f"{what} numerator")
            den = _pick(work, spec.denominator, keys, f"{what} denominator")
            both = num.merge(den, on=keys, how="outer", suffixes=("_num", "_den"))
            n = both[f"{VALUE}_num"].to_numpy(dtype=float)
            d = both[f"{VALUE}_den"].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where((d != 0) & ~np.isnan(d) & ~np.isnan(n), spec.scale * n / d, np.nan)
            status = both[f"{STATUS}_num"].combine_first(both[f"{STATUS}_den"])
            out = pd.DataFrame(
                {
                    "area_code": both[region].astype("string").to_numpy(),
                    "division": both["division"].astype("string").to_numpy(),
                    "year": both[time_var].astype(int).to_numpy(),
                    "value": value,
                    "numerator": n,
                    "denominator": d,
                    "status": status.to_numpy(),
                }
            )
        out.insert(2, "indicator", spec.indicator)
        out["unit"] = spec.unit
        out["source"] = mapping.source
        out["suppressed"] = False
        pieces.append(out[OBSERVATION_COLUMNS])
    result = pd.concat(pieces, ignore_index=True)
    return _observation_dtypes(result)


def _observation_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("area_code", "division", "indicator", "unit", "source", "status"):
        out[col] = out[col].astype("string")
    out["year"] = out["year"].astype("int64")
    for col in ("value", "numerator", "denominator"):
        out[col] = out[col].astype("float64")
    # Suppressed: no value and a status symbol from the source (SCB ``..``), as the store flags it.
    out["suppressed"] = (out["value"].isna() & out["status"].notna()).astype(bool)
    return out


# --------------------------------------------------------------------------- the client


def is_v1_path(table: str) -> bool:
    """True for a v1 table path such as ``BE/BE0101/BE0101Y/FolkmDesoAldKon``."""
    return "/" in table.strip("/")


class PxWebClient:
    """Client for SCB Statistikdatabasen (PxWebApi 2.0 with fallback to the v1 API).

    Args:
        base_url_v2: v2 root (``…/api/v2``).
        base_url_v1: v1 database root (``…/OV0104/v1/doris/sv/ssd``; the default follows ``lang``).
        lang: language of labels (``sv`` or ``en``), sent as ``lang`` to v2.
        cache_dir: folder for the response cache; ``None`` disables it.
        refresh: re-fetch everything and overwrite the cache.
        max_cells_v2 / max_cells_v1: cell limit per request (150,000 / 100,000).
        rate_v2 / rate_v1: (calls, seconds) of the sliding-window limit (30/10 s, 10/10 s).
        timeout: seconds per request.
        retry: retry policy (v1 also retries 403, SCB's "too many calls" answer there).
        v1_paths: v2 table id → v1 path, used when v2 is unavailable (default :data:`V1_PATHS`).
        sleep / clock: injectable time functions (tests).
        http_v2 / http_v1: ready-made :class:`HttpClient` instances (override the above).
    """

    def __init__(
        self,
        base_url_v2: str = BASE_URL_V2,
        base_url_v1: str = BASE_URL_V1,
        lang: str = "sv",
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        refresh: bool = False,
        max_cells_v2: int = MAX_CELLS_V2,
        max_cells_v1: int = MAX_CELLS_V1,
        rate_v2: tuple[int, float] = RATE_V2,
        rate_v1: tuple[int, float] = RATE_V1,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        v1_paths: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http_v2: HttpClient | None = None,
        http_v1: HttpClient | None = None,
    ) -> None:
        self.base_url_v2 = base_url_v2.rstrip("/")
        if base_url_v1 == BASE_URL_V1 and lang != "sv":
            base_url_v1 = BASE_URL_V1.replace("/sv/ssd", f"/{lang}/ssd")
        self.base_url_v1 = base_url_v1.rstrip("/")
        self.lang = lang
        self.max_cells_v2 = max_cells_v2
        self.max_cells_v1 = max_cells_v1
        self.v1_paths = dict(V1_PATHS if v1_paths is None else v1_paths)
        policy = retry or RetryPolicy()
        self.http_v2 = http_v2 or HttpClient(
            timeout=timeout,
            limiter=SlidingWindowLimiter(*rate_v2, clock=clock, sleep=sleep),
            retry=policy,
            rate_limit_statuses=(429,),
            cache_dir=cache_dir,
            refresh=refresh,
            sleep=sleep,
        )
        self.http_v1 = http_v1 or HttpClient(
            timeout=timeout,
            limiter=SlidingWindowLimiter(*rate_v1, clock=clock, sleep=sleep),
            retry=policy.with_statuses([403]),
            rate_limit_statuses=(403, 429),
            cache_dir=cache_dir,
            refresh=refresh,
            sleep=sleep,
        )
        self._metadata: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], TableMetadata] = {}
        #: Set once v2 could not be reached; later calls go straight to v1.
        self.v2_unavailable = False
        #: Number of data requests sent per API in the last :meth:`data` call (for progress/tests).
        self.last_request_count = 0

    # context manager -------------------------------------------------------------------------
    def close(self) -> None:
        """Close both HTTP clients."""
        self.http_v2.close()
        self.http_v1.close()

    def __enter__(self) -> PxWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # v2 only ---------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """``GET /config``: the server's limits (``maxDataCells``, ``maxCallsPerTimeWindow`` …)."""
        return self.http_v2.get(f"{self.base_url_v2}/config", cache=False).json()

    def list_tables(
        self,
        query: str | None = None,
        past_days: int | None = None,
        *,
        page_size: int | None = None,
        all_pages: bool = True,
        include_discontinued: bool | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /tables``: tables matching ``query`` / updated in the last ``past_days`` days.

        Follows ``page.totalPages`` when ``all_pages``. Each item is the API's table object
        (``id``, ``label``, ``firstPeriod``, ``lastPeriod``, ``updated``, ``variableNames`` …).
        """
        tables: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {
                "lang": self.lang,
                "query": query,
                "pastDays": past_days,
                "pageNumber": page if page > 1 or page_size else None,
                "pageSize": page_size,
                "includeDiscontinued": None if include_discontinued is None else str(include_discontinued).lower(),
            }
            doc = self.http_v2.get(f"{self.base_url_v2}/tables", params=params, cache=False).json()
            tables.extend(doc.get("tables") or [])
            info = doc.get("page") or {}
            total_pages = int(info.get("totalPages") or 1)
            if not all_pages or page >= total_pages:
                return tables
            page += 1

    # metadata --------------------------------------------------------------------------------
    def _v1_path_for(self, table: str) -> str | None:
        if is_v1_path(table):
            return table.strip("/")
        return self.v1_paths.get(table.upper())

    def _v2_then_v1(self, table: str, v2_call: Callable[[], Any], v1_call: Callable[[str], Any]) -> Any:
        """Run ``v2_call``; on 404 or v2 being unreachable, run ``v1_call`` with the v1 path."""
        path = self._v1_path_for(table)
        if is_v1_path(table):
            assert path is not None
            return v1_call(path)
        if not self.v2_unavailable:
            try:
                return v2_call()
            except NotFoundError as exc:
                if path is None:
                    raise
                log.warning("SCB v2 has no %s (%s); using v1 %s", table, exc.message, path)
            except SourceUnavailableError as exc:
                if path is None:
                    raise
                if exc.status is None:  # unreachable, not just one failing table
                    self.v2_unavailable = True
                log.warning("SCB v2 unavailable (%s); using v1 %s for %s", exc.message, path, table)
        elif path is None:
            raise SourceUnavailableError(
                f"SCB v2 is unavailable and no v1 path is known for {table}", url=self.base_url_v2
            )
        return v1_call(path)

    def metadata(self, table_id: str, codelists: Mapping[str, str] | None = None) -> TableMetadata:
        """Variables of a table (v2 ``/tables/{id}/metadata``, or the v1 table GET).

        With ``codelists`` (``{"Region": "vs_DeSO2025"}``) v2 lists the code list's values; on v1 the
        values are filtered by :data:`CODELIST_PATTERNS` instead. Answers are memoised per client.
        """
        codelists = dict(codelists or {})
        return self._v2_then_v1(
            table_id,
            lambda: self._metadata_v2(table_id, codelists),
            lambda path: self._metadata_v1(path, codelists, table_id),
        )

    def _metadata_v2(self, table_id: str, codelists: Mapping[str, str]) -> TableMetadata:
        key = ("v2", table_id, self.lang, tuple(sorted(codelists.items())))
        if key not in self._metadata:
            params: dict[str, Any] = {"lang": self.lang}
            for var, cl in codelists.items():
                params[f"codelist[{var}]"] = cl
            url = f"{self.base_url_v2}/tables/{table_id}/metadata"
            self._metadata[key] = parse_metadata_v2(self.http_v2.get(url, params=params).json(), table_id)
        return self._metadata[key]

    def _metadata_v1(self, path: str, codelists: Mapping[str, str], table_id: str | None = None) -> TableMetadata:
        key = ("v1", path, self.lang, tuple(sorted(codelists.items())))
        if key not in self._metadata:
            doc = self.http_v1.get(f"{self.base_url_v1}/{path}").json()
            meta = parse_metadata_v1(doc, table_id or path)
            self._metadata[key] = _filter_v1_codelists(meta, codelists)
        return self._metadata[key]

    # data ------------------------------------------------------------------------------------
    def _plan(
        self, meta: TableMetadata, selection: Selection, codelists: Mapping[str, str], *, expand_all: bool
    ) -> list[_VarPlan]:
        unknown = [v for v in selection if v not in meta.codes]
        if unknown:
            raise SourceError(f"{meta.table_id} has no variable(s) {unknown}; it has {meta.codes}")
        plans: list[_VarPlan] = []
        for var in meta.variables:
            if var.code in selection:
                exprs = [str(e) for e in selection[var.code]]
                expanded = expand_selection(exprs, var.values, is_time=var.time)
                if expanded is None and expand_all:
                    raise SourceError(f"{meta.table_id}: cannot resolve {var.code}={exprs} against the table's values")
                count = len(expanded) if expanded is not None else len(var.values)
                send = expanded if expand_all and expanded is not None else exprs
                plans.append(_VarPlan(var.code, list(send), expanded, codelists.get(var.code), max(count, 0)))
            elif not var.elimination:
                # Not selected and not eliminable: the server picks values; count them all (upper bound).
                plans.append(_VarPlan(var.code, [], None, None, max(len(var.values), 1)))
        return plans

    def data(
        self,
        table_id: str,
        selection: Selection,
        codelists: Mapping[str, str] | None = None,
        *,
        labels: bool = False,
        split_regions: bool = True,
    ) -> pd.DataFrame:
        """Fetch a selection of a table as a tidy frame (see :func:`decode_jsonstat2`).

        ``selection`` maps variable codes to codes or expressions; ``codelists`` maps variables to a
        code list (``{"Region": "vs_DeSO2025"}``). Requests over the cell limit are split on the
        largest variable and the parts concatenated. With ``split_regions`` the region column holds
        plain codes and a ``division`` column follows it.
        """
        codelists = dict(codelists or {})

        def v2() -> pd.DataFrame:
            meta = self._metadata_v2(table_id, codelists)
            plans = self._plan(meta, selection, codelists, expand_all=False)
            parts = split_plans(plans, self.max_cells_v2)
            self.last_request_count = len(parts)
            url = f"{self.base_url_v2}/tables/{table_id}/data"
            params = {"lang": self.lang, "outputFormat": "json-stat2"}
            frames = []
            for part in parts:
                body = {"selection": [_v2_selection(p) for p in part if p.send]}
                doc = self.http_v2.post_json(url, body, params=params).json()
                frames.append(decode_jsonstat2(doc, labels=labels))
            return _finish(frames, meta, split_regions)

        def v1(path: str) -> pd.DataFrame:
            meta = self._metadata_v1(path, codelists, table_id)
            plans = self._plan(meta, selection, codelists, expand_all=True)
            parts = split_plans(plans, self.max_cells_v1)
            self.last_request_count = len(parts)
            frames = []
            for part in parts:
                body = {
                    "query": [
                        {"code": p.code, "selection": {"filter": "item", "values": p.send}} for p in part if p.send
                    ],
                    "response": {"format": "json-stat2"},
                }
                doc = self.http_v1.post_json(f"{self.base_url_v1}/{path}", body).json()
                frames.append(decode_jsonstat2(doc, labels=labels))
            return _finish(frames, meta, split_regions)

        return self._v2_then_v1(table_id, v2, v1)

    def fetch_region_years(
        self,
        table_id: str,
        region_prefix: str = "1480",
        years: Iterable[int] = range(2020, 2025),
        contents: Sequence[str] | None = None,
        codelist: str | None = "vs_DeSO2025",
        extra_selection: Selection | None = None,
        *,
        region_var: str = "Region",
        time_var: str = "Tid",
        contents_var: str = "ContentsCode",
        labels: bool = False,
    ) -> pd.DataFrame:
        """All areas of a municipality (or county) for a range of years.

        Builds ``{region_var: [f"{region_prefix}*"], time_var: [years...], contents_var: contents,
        **extra_selection}`` with ``codelist`` on the region variable and calls :meth:`data`.
        """
        selection: dict[str, list[str]] = {
            region_var: [f"{region_prefix}*"],
            time_var: [str(y) for y in years],
        }
        if contents:
            selection[contents_var] = [str(c) for c in contents]
        for var, values in (extra_selection or {}).items():
            selection[var] = [str(v) for v in values]
        codelists = {region_var: codelist} if codelist else {}
        return self.data(table_id, selection, codelists, labels=labels)


def _v2_selection(plan: _VarPlan) -> dict[str, Any]:
    """One entry of the v2 POST body's ``selection`` list."""
    item: dict[str, Any] = {"variableCode": plan.code}
    if plan.codelist:
        item["codelist"] = plan.codelist
    item["valueCodes"] = list(plan.send)
    return item


def _filter_v1_codelists(meta: TableMetadata, codelists: Mapping[str, str]) -> TableMetadata:
    """v1 has no code lists: keep only the values the requested list would hold (by pattern)."""
    if not codelists:
        return meta
    variables = []
    for var in meta.variables:
        cl = codelists.get(var.code)
        pattern = CODELIST_PATTERNS.get(cl) if cl else None
        if cl and pattern is None:
            log.warning("v1 fallback: unknown code list %s for %s; using all values", cl, var.code)
        if pattern is None:
            variables.append(var)
            continue
        keep = [i for i, v in enumerate(var.values) if pattern.match(v)]
        variables.append(
            Variable(
                code=var.code,
                label=var.label,
                values=tuple(var.values[i] for i in keep),
                value_labels=tuple(var.value_labels[i] for i in keep),
                elimination=var.elimination,
                time=var.time,
                role=var.role,
            )
        )
    return TableMetadata(meta.table_id, meta.label, tuple(variables), meta.api, meta.source, meta.updated)


def _finish(frames: list[pd.DataFrame], meta: TableMetadata, split_regions: bool) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if split_regions:
        geo = meta.geo_variable
        column = geo.code if geo is not None else "Region"
        frame = add_division(frame, column)
    return frame


# --------------------------------------------------------------------------- CLI entry point


def year_periods(years: Iterable[int], level: str = "deso") -> list[tuple[str, list[int]]]:
    """Group years by the region code list that covers them: ``[(codelist, years), ...]``.

    DeSO 2018 / RegSO 2020 up to 2023, DeSO 2025 / RegSO 2025 from 2024 (SCB does not recompute
    older years on the new divisions).
    """
    try:
        old, new = LEVEL_CODELISTS[level.lower()]
    except KeyError:
        raise ValueError(f"level must be one of {sorted(LEVEL_CODELISTS)}, not {level!r}") from None
    years = sorted(set(int(y) for y in years))
    before = [y for y in years if y < DIVISION_2025_FROM_YEAR]
    after = [y for y in years if y >= DIVISION_2025_FROM_YEAR]
    return [(cl, ys) for cl, ys in ((old, before), (new, after)) if ys]


def fetch_scb_observations(
    tables: Sequence[str],
    region: str,
    years: Iterable[int],
    cache_dir: str | os.PathLike[str] | None,
    progress: Callable[[int, int], None] | None = None,
    *,
    level: str = "deso",
    mappings: Mapping[str, TableMapping] | None = None,
    client: PxWebClient | None = None,
    **client_options: Any,
) -> pd.DataFrame:
    """Fetch observations for all DeSO (or RegSO) of ``region`` from SCB tables.

    For each table (a key of ``mappings``, default :data:`SCB_MAPPINGS`) and each division period
    (see :func:`year_periods`) the table's metadata is read, the years the table has are kept, the
    areas ``{region}*`` of the period's code list are fetched with the mapping's selection, and the
    result is mapped with :func:`to_observations`. ``progress(done, total)`` is called with the
    number of finished (table, period) units. Extra keyword arguments go to :class:`PxWebClient`.

    Returns the concatenated observation frame (:data:`OBSERVATION_COLUMNS`), sorted by indicator,
    area and year.
    """
    mappings = SCB_MAPPINGS if mappings is None else mappings
    missing = [t for t in tables if t not in mappings]
    if missing:
        raise ValueError(f"no indicator mapping for table(s) {missing}; known: {sorted(mappings)}")
    units = [(table, cl, ys) for table in tables for cl, ys in year_periods(years, level)]
    own = client is None
    client = client or PxWebClient(cache_dir=cache_dir, **client_options)
    pieces: list[pd.DataFrame] = []
    try:
        if progress:
            progress(0, len(units))
        for done, (table, codelist, wanted) in enumerate(units, start=1):
            mapping = mappings[table]
            meta = client.metadata(table, {mapping.region_var: codelist})
            geo = meta.variable(mapping.region_var)
            if geo.codelists and codelist not in geo.codelist_ids:
                log.warning("%s has no code list %s (has %s); skipping %s", table, codelist, geo.codelist_ids, wanted)
            else:
                have = set(meta.variable(mapping.time_var).values)
                available = [y for y in wanted if str(y) in have]
                if not available:
                    log.warning("%s has none of the years %s on %s", table, wanted, codelist)
                else:
                    frame = client.fetch_region_years(
                        table,
                        region_prefix=region,
                        years=available,
                        codelist=codelist,
                        extra_selection=mapping.selection,
                        region_var=mapping.region_var,
                        time_var=mapping.time_var,
                    )
                    pieces.append(to_observations(frame, mapping))
            if progress:
                progress(done, len(units))
    finally:
        if own:
            client.close()
    if not pieces:
        return empty_observations()
    result = pd.concat(pieces, ignore_index=True)
    result = result.sort_values(["indicator", "area_code", "year"], kind="stable", ignore_index=True)
    return _observation_dtypes(result)
