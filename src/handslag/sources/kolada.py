"""Kolada client (municipal key figures, RKA): API v3 with the v2 paths as fallback.

API facts used here (methods brief §5; v3 is known from client code, not from official docs):

* Data: ``{base}/data/kpi/{kpi}/municipality/{ids}/year/{years}``; each part may be a
  comma-separated list. Answer ``{"values": [{"kpi", "municipality", "period", "values":
  [{"count", "gender", "status", "value"}]}], "count", "next_url" (v3) | "next_page" (v2)}``.
* Metadata: ``/kpi/{ids}``, ``/kpi?title=``, ``/municipality``, ``/municipality?title=``.
* Gender: ``T`` total, ``K`` women, ``M`` men. ``0000`` is Riket, ``00LL`` a region (län).
* About 20 municipality ids per call is the reported practical limit; longer year lists are
  refused by the API (25 per call is used here).

Kolada has no DeSO/RegSO data: observations are at kommun level (and riket/län).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import pandas as pd

from handslag.sources.http import (
    HttpClient,
    NotFoundError,
    RetryPolicy,
    SlidingWindowLimiter,
    SourceError,
)
from handslag.sources.pxweb import OBSERVATION_COLUMNS, empty_observations

log = logging.getLogger(__name__)

BASE_URL = "https://api.kolada.se/v3"
MAX_IDS_PER_CALL = 20
MAX_YEARS_PER_CALL = 25
MAX_PAGES = 1000
#: Politeness limit (Kolada publishes none that we could verify): calls per window of seconds.
RATE = (5, 1.0)

#: KPI → (indicator id, unit). Indicator ids for the catalogue; the KPI id is used when absent.
KOLADA_INDICATORS: dict[str, tuple[str, str]] = {
    "N00914": ("employment_20_64", "percent"),  # förvärvsarbetande invånare 20-64 år, andel (%)
    "N15428": ("eligible_vocational_grade9", "percent"),  # åk 9 behöriga till yrkesprogram, hemkommun
    "N15507": ("merit_value_grade9", "points"),  # åk 9 meritvärde, hemkommun (17 ämnen)
    "N05401": ("turnout_municipal", "percent"),  # valdeltagande i senaste kommunalvalet
    "N31807": ("economic_assistance", "percent"),  # invånare med ekonomiskt bistånd under året
    "N31813": ("neet_16_24", "percent"),  # unga 16-24 år som varken arbetar eller studerar
    "N01982": ("post_secondary_25_64", "percent"),  # invånare 25-64 år med eftergymnasial utbildning
    "N03937": ("unemployment_af", "percent"),  # Arbetsförmedlingen, exact title unverified
}

DATA_COLUMNS = ["kpi", "municipality", "period", "gender", "value", "count", "status"]


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _as_list(items: str | Iterable[Any]) -> list[str]:
    if isinstance(items, str):
        return [p.strip() for p in items.split(",") if p.strip()]
    return [str(i).strip() for i in items if str(i).strip()]


class KoladaClient:
    """Client for the Kolada API.

    Args:
        base_url: v3 root (``https://api.kolada.se/v3``).
        fallback_base_url: used after v3 answers 404 (default: ``base_url`` with ``/v3`` → ``/v2``).
        cache_dir: folder for the response cache; ``None`` disables it.
        refresh: re-fetch everything and overwrite the cache.
        max_ids_per_call / max_years_per_call: chunk sizes for the data path.
        per_page: sent as ``per_page`` when given (v2 allows up to 5,000).
        rate: (calls, seconds) for the sliding-window limiter.
        timeout, retry, sleep, clock: as for :class:`~handslag.sources.http.HttpClient`.
        http: a ready-made :class:`HttpClient` (overrides the above).
    """

    def __init__(
        self,
        base_url: str = BASE_URL,
        *,
        fallback_base_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        refresh: bool = False,
        max_ids_per_call: int = MAX_IDS_PER_CALL,
        max_years_per_call: int = MAX_YEARS_PER_CALL,
        per_page: int | None = None,
        rate: tuple[int, float] = RATE,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http: HttpClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if fallback_base_url is None and self.base_url.endswith("/v3"):
            fallback_base_url = self.base_url[: -len("/v3")] + "/v2"
        self.fallback_base_url = fallback_base_url.rstrip("/") if fallback_base_url else None
        self.max_ids_per_call = max_ids_per_call
        self.max_years_per_call = max_years_per_call
        self.per_page = per_page
        self.http = http or HttpClient(
            timeout=timeout,
            limiter=SlidingWindowLimiter(*rate, clock=clock, sleep=sleep),
            retry=retry or RetryPolicy(),
            rate_limit_statuses=(429,),
            cache_dir=cache_dir,
            refresh=refresh,
            sleep=sleep,
        )
        #: True once v3 answered 404 and the client switched to the fallback (v2) paths.
        self.using_fallback = False

    # context manager -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def __enter__(self) -> KoladaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # plumbing --------------------------------------------------------------------------------
    @property
    def active_base_url(self) -> str:
        """The root currently used (v3, or v2 after a fallback)."""
        if self.using_fallback and self.fallback_base_url:
            return self.fallback_base_url
        return self.base_url

    def _pages(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """GET ``path`` and every following page; returns the concatenated ``values``."""
        try:
            return self._pages_from(self.active_base_url, path, params)
        except NotFoundError:
            if self.using_fallback or not self.fallback_base_url:
                raise
            log.warning("Kolada %s answered 404; switching to %s", self.base_url, self.fallback_base_url)
            self.using_fallback = True
            return self._pages_from(self.fallback_base_url, path, params)

    def _pages_from(self, base: str, path: str, params: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        params = dict(params or {})
        if self.per_page is not None:
            params.setdefault("per_page", self.per_page)
        url: str | None = f"{base}/{path.lstrip('/')}"
        values: list[dict[str, Any]] = []
        seen: set[str] = set()
        first = True
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise SourceError("Kolada paging does not end (a next page repeats)", url=url)
            seen.add(url)
            doc = self.http.get(url, params=params if first else None).json()
            first = False
            if not isinstance(doc, Mapping):
                raise SourceError("Kolada answer is not a JSON object", url=url)
            values.extend(doc.get("values") or [])
            nxt = doc.get("next_url") or doc.get("next_page")
            url = urljoin(f"{base}/", str(nxt)) if nxt else None
        return values

    # metadata --------------------------------------------------------------------------------
    def kpi(self, ids: str | Sequence[str] | None = None, *, title: str | None = None) -> pd.DataFrame:
        """KPI metadata: ``/kpi/{ids}`` (comma-separated, chunked) or ``/kpi?title=``.

        Returns one row per KPI with the API's fields (``id``, ``title``, ``description``,
        ``is_divided_by_gender``, ``municipality_type`` …).
        """
        rows: list[dict[str, Any]] = []
        if ids:
            for chunk in _chunks(_as_list(ids), self.max_ids_per_call):
                rows.extend(self._pages(f"kpi/{','.join(chunk)}"))
        else:
            rows.extend(self._pages("kpi", {"title": title} if title else None))
        return pd.DataFrame(rows)

    def municipalities(self, title: str | None = None, *, kind: str | None = None) -> pd.DataFrame:
        """Municipalities and regions (``/municipality``, optionally ``?title=``); columns ``id``,
        ``title``, ``type`` (``K`` kommun, ``L`` region). ``kind`` keeps one type (filtered locally)."""
        rows = self._pages("municipality", {"title": title} if title else None)
        frame = pd.DataFrame(rows, columns=sorted({k for r in rows for k in r} | {"id", "title", "type"}))
        frame = frame[["id", "title", "type", *[c for c in frame.columns if c not in ("id", "title", "type")]]]
        if kind is not None:
            frame = frame[frame["type"] == kind].reset_index(drop=True)
        return frame.astype({"id": "string", "title": "string", "type": "string"})

    # data ------------------------------------------------------------------------------------
    def data(
        self,
        kpi: str | Sequence[str],
        municipalities: str | Sequence[str],
        years: Iterable[int] | str,
    ) -> pd.DataFrame:
        """Values of one or more KPIs for municipalities and years.

        Requests ``/data/kpi/{kpi}/municipality/{ids}/year/{years}`` with at most
        ``max_ids_per_call`` municipality ids and ``max_years_per_call`` years per call, follows
        paging, and returns one row per (kpi, municipality, period, gender): columns ``kpi,
        municipality, period, gender, value, count, status``.
        """
        kpis = _as_list(kpi)
        ids = _as_list(municipalities)
        year_list = _as_list(years) if isinstance(years, str) else [str(int(y)) for y in years]
        if not kpis or not ids or not year_list:
            raise ValueError("Kolada data needs at least one KPI, one municipality and one year")
        records: list[dict[str, Any]] = []
        for year_chunk in _chunks(year_list, self.max_years_per_call):
            for id_chunk in _chunks(ids, self.max_ids_per_call):
                path = f"data/kpi/{','.join(kpis)}/municipality/{','.join(id_chunk)}/year/{','.join(year_chunk)}"
                records.extend(self._pages(path))
        return tidy_data(records)

    def to_observations(
        self, frame: pd.DataFrame, indicators: Mapping[str, tuple[str, str]] | None = None
    ) -> pd.DataFrame:
        """Same as the module-level :func:`to_observations` (convenience)."""
        return to_observations(frame, indicators)


def tidy_data(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten Kolada data objects (one per kpi/municipality/period, with per-gender ``values``)."""
    rows: dict[str, list[Any]] = {c: [] for c in DATA_COLUMNS}
    for rec in records:
        for cell in rec.get("values") or []:
            raw = cell.get("value")
            status = cell.get("status")
            rows["kpi"].append(str(rec.get("kpi")))
            rows["municipality"].append(str(rec.get("municipality")))
            rows["period"].append(int(rec.get("period")))
            rows["gender"].append(str(cell.get("gender")))
            rows["value"].append(float(raw) if raw is not None else math.nan)
            rows["count"].append(int(cell["count"]) if cell.get("count") is not None else None)
            rows["status"].append(str(status) if status not in (None, "") else None)
    return pd.DataFrame(
        {
            "kpi": pd.Series(rows["kpi"], dtype="string"),
            "municipality": pd.Series(rows["municipality"], dtype="string"),
            "period": pd.Series(rows["period"], dtype="int64"),
            "gender": pd.Series(rows["gender"], dtype="string"),
            "value": pd.Series(rows["value"], dtype="float64"),
            "count": pd.Series(rows["count"], dtype="Int64"),
            "status": pd.Series(rows["status"], dtype="string"),
        }
    )


def municipality_area(code: str) -> tuple[str, str]:
    """Kolada municipality id → (area code, division): ``0000`` → (``00``, ``riket``); ``00LL`` →
    (``LL``, ``lan``); a kommun code stays (``1480``, ``kommun``)."""
    code = str(code)
    if code == "0000":
        return "00", "riket"
    if len(code) == 4 and code.startswith("00"):
        return code[2:], "lan"
    return code, "kommun"


def to_observations(frame: pd.DataFrame, indicators: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Kolada data (from :meth:`KoladaClient.data`) → observation frame.

    Keeps gender ``T`` only; ``area_code``/``division`` from :func:`municipality_area`;
    ``indicator``/``unit`` from ``indicators`` (default :data:`KOLADA_INDICATORS`; unknown KPIs keep
    their id and get unit ``unknown``); ``source`` is ``Kolada <KPI>``; numerator/denominator are
    empty (Kolada publishes the ratio only).
    """
    indicators = KOLADA_INDICATORS if indicators is None else indicators
    total = frame[frame["gender"] == "T"]
    if total.empty:
        return empty_observations()
    areas = [municipality_area(c) for c in total["municipality"]]
    kpis = total["kpi"].astype(str).tolist()
    out = pd.DataFrame(
        {
            "area_code": [a for a, _ in areas],
            "division": [d for _, d in areas],
            "indicator": [indicators.get(k, (k, "unknown"))[0] for k in kpis],
            "year": total["period"].astype("int64").to_numpy(),
            "value": total["value"].astype("float64").to_numpy(),
            "numerator": math.nan,
            "denominator": math.nan,
            "unit": [indicators.get(k, (k, "unknown"))[1] for k in kpis],
            "source": [f"Kolada {k}" for k in kpis],
            "status": total["status"].to_numpy(),
            "suppressed": (total["value"].isna() & total["status"].notna()).to_numpy(dtype=bool),
        }
    )[OBSERVATION_COLUMNS]
    for col in ("area_code", "division", "indicator", "unit", "source", "status"):
        out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def fetch_kolada_observations(
    kpis: Sequence[str],
    municipalities: Sequence[str],
    years: Iterable[int],
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    indicators: Mapping[str, tuple[str, str]] | None = None,
    client: KoladaClient | None = None,
    **client_options: Any,
) -> pd.DataFrame:
    """Fetch Kolada KPIs for municipalities and years as observations (one KPI per progress step).

    Extra keyword arguments go to :class:`KoladaClient` (e.g. ``base_url``).
    """
    own = client is None
    client = client or KoladaClient(cache_dir=cache_dir, **client_options)
    years = list(years)
    pieces = []
    try:
        if progress:
            progress(0, len(kpis))
        for done, kpi in enumerate(kpis, start=1):
            pieces.append(to_observations(client.data(kpi, municipalities, years), indicators))
            if progress:
                progress(done, len(kpis))
    finally:
        if own:
            client.close()
    pieces = [p for p in pieces if not p.empty]
    if not pieces:
        return empty_observations()
    result = pd.concat(pieces, ignore_index=True)
    return result.sort_values(["indicator", "area_code", "year"], kind="stable", ignore_index=True)
