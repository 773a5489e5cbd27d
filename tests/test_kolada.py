"""Kolada client against a local replay server (v3 paging, chunking, v2 fallback, retries, mapping)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from fakeservers import FakeClock, ReplayServer, add_kolada, kolada_record
from handslag.sources.http import NotFoundError, RetryPolicy
from handslag.sources.kolada import (
    DATA_COLUMNS,
    KoladaClient,
    fetch_kolada_observations,
    municipality_area,
    tidy_data,
    to_observations,
)
from handslag.sources.pxweb import OBSERVATION_COLUMNS

# 45 municipality ids (real codes of Västra Götaland and a few others) to exercise the 20-id chunks.
MUNICIPALITIES = [
    "1401", "1402", "1407", "1415", "1419", "1421", "1427", "1430", "1435", "1438",
    "1439", "1440", "1441", "1442", "1443", "1444", "1445", "1446", "1447", "1452",
    "1460", "1461", "1462", "1463", "1465", "1466", "1470", "1471", "1472", "1473",
    "1480", "1481", "1482", "1484", "1485", "1486", "1487", "1488", "1489", "1490",
    "1491", "1492", "1493", "1494", "1495",
]  # fmt: skip


def employment(mun: str, year: int) -> float:
    """A deterministic fake N00914 value per municipality and year."""
    return round(70 + int(mun[2:]) / 100 + (year - 2020) / 10, 3)


RECORDS = [
    kolada_record("N00914", mun, year, employment(mun, year), employment(mun, year) - 2, employment(mun, year) + 2)
    for mun in [*MUNICIPALITIES, "0000", "0014"]
    for year in (2022, 2023)
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(server: ReplayServer, clock: FakeClock, **kwargs) -> KoladaClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=1.0, jitter=0.0))
    return KoladaClient(base_url=kwargs.pop("base_url", f"{server.url}/v3"), sleep=clock.sleep, clock=clock, **kwargs)


def test_data_follows_next_url_pages(clock: FakeClock) -> None:
    with ReplayServer() as server, make_client(server, clock) as client:
        add_kolada(server, RECORDS, page_size=2)
        frame = client.data("N00914", ["1480", "1401", "0000"], [2022, 2023])
    paths = [(r.path, r.query) for r in server.requests]
    base = "/v3/data/kpi/N00914/municipality/1480,1401,0000/year/2022,2023"
    assert paths == [(base, {}), (base, {"page": ["2"]}), (base, {"page": ["3"]})]
    assert list(frame.columns) == DATA_COLUMNS
    assert len(frame) == 3 * 2 * 3  # municipalities x years x genders
    total = frame[(frame["municipality"] == "1480") & (frame["period"] == 2023) & (frame["gender"] == "T")]
    assert total["value"].tolist() == [employment("1480", 2023)]
    women = frame[(frame["municipality"] == "1480") & (frame["period"] == 2023) & (frame["gender"] == "K")]
    assert women["value"].tolist() == [employment("1480", 2023) - 2]
    assert frame["count"].tolist() == [1] * 18 and frame["status"].isna().all()
    assert frame["period"].dtype == "int64"


def test_municipality_ids_are_sent_in_chunks_of_20(clock: FakeClock) -> None:
    with ReplayServer() as server, make_client(server, clock) as client:
        add_kolada(server, RECORDS, page_size=1000)
        frame = client.data("N00914", MUNICIPALITIES, range(2022, 2024))
    ids_sent = [r.path.split("/municipality/")[1].split("/year/")[0].split(",") for r in server.requests]
    assert [len(ids) for ids in ids_sent] == [20, 20, 5]
    assert sum(ids_sent, []) == MUNICIPALITIES
    assert all(r.path.endswith("/year/2022,2023") for r in server.requests)
    assert sorted(frame["municipality"].unique()) == sorted(MUNICIPALITIES)
    assert len(frame) == 45 * 2 * 3


def test_years_are_chunked_too(clock: FakeClock) -> None:
    with ReplayServer() as server, make_client(server, clock, max_years_per_call=1) as client:
        add_kolada(server, RECORDS)
        client.data("N00914", "1480", [2022, 2023])
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == ["2022", "2023"]


def test_v2_fallback_when_v3_answers_404(clock: FakeClock) -> None:
    with ReplayServer() as server, make_client(server, clock) as client:
        add_kolada(server, RECORDS, base="/v2", page_size=2, paging="next_page")
        frame = client.data("N00914", ["1480", "1481", "1482"], [2023])
        assert client.using_fallback and client.active_base_url == f"{server.url}/v2"
        client.data("N00914", ["1401"], [2023])
    assert [r.path for r in server.requests] == [
        "/v3/data/kpi/N00914/municipality/1480,1481,1482/year/2023",  # 404
        "/v2/data/kpi/N00914/municipality/1480,1481,1482/year/2023",
        "/v2/data/kpi/N00914/municipality/1480,1481,1482/year/2023",  # next_page
        "/v2/data/kpi/N00914/municipality/1401/year/2023",  # v3 not tried again
    ]
    assert server.requests[2].query == {"page": ["2"]}
    assert len(frame) == 9
    assert frame.loc[frame["gender"] == "T", "value"].tolist() == [
        employment(m, 2023) for m in ("1480", "1481", "1482")
    ]


def test_404_without_fallback_raises(clock: FakeClock) -> None:
    with (
        ReplayServer() as server,
        make_client(server, clock, base_url=f"{server.url}/v9") as client,
        pytest.raises(NotFoundError) as info,
    ):
        client.data("N00914", "1480", [2023])
    assert info.value.status == 404 and "/v9/data/kpi/N00914" in str(info.value)


def test_retries_on_429_and_500(clock: FakeClock) -> None:
    with ReplayServer() as server, make_client(server, clock) as client:
        add_kolada(server, RECORDS)
        server.fail(1, 429, headers={"Retry-After": "2"})
        server.fail(1, 500)
        frame = client.data("N00914", "1480", [2023])
    assert clock.sleeps == [2.0, 2.0]  # Retry-After, then backoff for the second retry
    assert len(server.requests) == 3
    assert frame.loc[frame["gender"] == "T", "value"].tolist() == [employment("1480", 2023)]


def test_kpi_and_municipality_metadata(clock: FakeClock) -> None:
    kpis = [
        {"id": "N00914", "title": "Förvärvsarbetande invånare 20-64 år, andel (%)", "is_divided_by_gender": True},
        {"id": "N15428", "title": "Elever i åk 9 som är behöriga till yrkesprogram, hemkommun, andel (%)"},
    ]
    municipalities = [
        {"id": "1480", "title": "Göteborg", "type": "K"},
        {"id": "0014", "title": "Region Västra Götaland", "type": "L"},
        {"id": "1481", "title": "Mölndal", "type": "K"},
    ]
    with ReplayServer() as server, make_client(server, clock) as client:
        add_kolada(server, [], kpis=kpis, municipalities=municipalities, page_size=2)
        by_id = client.kpi(["N00914", "N15428"])
        by_title = client.kpi(title="behöriga")
        goteborg = client.municipalities(title="göteborg")
        kommuner = client.municipalities(kind="K")
    assert by_id["id"].tolist() == ["N00914", "N15428"]
    assert bool(by_id.loc[0, "is_divided_by_gender"]) is True
    assert by_title["id"].tolist() == ["N15428"]
    assert goteborg[["id", "title", "type"]].values.tolist() == [["1480", "Göteborg", "K"]]
    assert kommuner["id"].tolist() == ["1480", "1481"]
    assert server.requests[0].path == "/v3/kpi/N00914,N15428"
    assert server.requests[1].path == "/v3/kpi" and server.requests[1].query == {"title": ["behöriga"]}
    # /municipality without a title has 3 items in pages of 2: two requests.
    assert [r.query for r in server.requests[3:]] == [{}, {"page": ["2"]}]


@pytest.mark.parametrize(
    ("code", "expected"),
    [("0000", ("00", "riket")), ("0014", ("14", "lan")), ("1480", ("1480", "kommun")), ("0180", ("0180", "kommun"))],
)
def test_municipality_area(code: str, expected: tuple[str, str]) -> None:
    assert municipality_area(code) == expected


def test_to_observations_keeps_total_gender_only() -> None:
    records = [
        kolada_record("N00914", "1480", 2023, 74.1, 72.0, 76.0),
        kolada_record("N00914", "0000", 2023, 79.9),
        kolada_record("N00914", "0014", 2023, 80.2),
        kolada_record("N99999", "1480", 2023, None),
    ]
    records[3]["values"][0]["status"] = "Missing"
    obs = to_observations(tidy_data(records))
    assert list(obs.columns) == OBSERVATION_COLUMNS
    assert obs[["area_code", "division", "indicator", "year", "value"]].values.tolist()[:3] == [
        ["1480", "kommun", "employment_20_64", 2023, 74.1],
        ["00", "riket", "employment_20_64", 2023, 79.9],
        ["14", "lan", "employment_20_64", 2023, 80.2],
    ]
    assert obs[["area_code", "division", "indicator", "year"]].iloc[3].tolist() == ["1480", "kommun", "N99999", 2023]
    assert obs["source"].tolist() == ["Kolada N00914"] * 3 + ["Kolada N99999"]
    assert obs["unit"].tolist() == ["percent"] * 3 + ["unknown"]
    assert obs["status"].iloc[3] == "Missing" and math.isnan(obs["value"].iloc[3])
    assert obs["suppressed"].tolist() == [False, False, False, True]
    assert obs["numerator"].isna().all() and obs["denominator"].isna().all()


def test_fetch_kolada_observations_uses_the_cache(clock: FakeClock, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    with ReplayServer() as server:
        add_kolada(server, RECORDS, page_size=100)
        options = {"base_url": f"{server.url}/v3", "sleep": clock.sleep, "clock": clock}
        obs = fetch_kolada_observations(
            ["N00914"],
            ["1480", "1481"],
            [2022, 2023],
            tmp_path,
            progress=lambda d, t: progress.append((d, t)),
            **options,
        )
        again = fetch_kolada_observations(["N00914"], ["1480", "1481"], [2022, 2023], tmp_path, **options)
    assert len(server.requests) == 1  # the second run came from the disk cache
    assert progress == [(0, 1), (1, 1)]
    pd.testing.assert_frame_equal(obs, again)
    assert obs[["area_code", "year", "value"]].values.tolist() == [
        ["1480", 2022, employment("1480", 2022)],
        ["1480", 2023, employment("1480", 2023)],
        ["1481", 2022, employment("1481", 2022)],
        ["1481", 2023, employment("1481", 2023)],
    ]
    assert set(obs["source"]) == {"Kolada N00914"} and set(obs["division"]) == {"kommun"}
