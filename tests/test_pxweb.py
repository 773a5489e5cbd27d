"""SCB PxWeb client against local replay servers (v2, v1 fallback, limits, retries, cache, mapping)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest

from fakeservers import (
    BERGSJON,
    FakeClock,
    FakeTable,
    FakeVar,
    ReplayServer,
    Reply,
    closed_port_url,
    region_var,
    scb_server,
    tab6574,
    tab6680,
)
from handslag.sources.http import (
    DiskCache,
    RateLimitedError,
    RetryPolicy,
    SlidingWindowLimiter,
    SourceError,
    SourceUnavailableError,
    parse_retry_after,
)
from handslag.sources.pxweb import (
    OBSERVATION_COLUMNS,
    SCB_MAPPINGS,
    PxWebClient,
    _VarPlan,
    expand_expression,
    fetch_scb_observations,
    split_plans,
    split_region_code,
    to_observations,
    year_periods,
)

V1_ROOT = "/OV0104/v1/doris/sv/ssd"
V1_TAB6574 = "BE/BE0101/BE0101Y/FolkmDesoAldKon"
DESO_2018 = ["1480C3380", "1480C3390"]
DESO_2025 = ["1480C3390", "1480C3400", "1480C3410", "1480C3420", "1480C3430"]
YEARS = ["2020", "2021", "2022", "2023", "2024", "2025"]
POP_SELECTION = {"Alder": ["totalt"], "Kon": ["1+2"], "ContentsCode": ["000007Y7"]}


def pop_value(table: FakeTable, region: str, year: str) -> float:
    """The fake TAB6574's value for a (suffixed) region code and year."""
    return table.value_fn({"Region": region, "Tid": year})


def make_client(server: ReplayServer, clock: FakeClock, **kwargs) -> PxWebClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=1.0, jitter=0.0))
    return PxWebClient(
        base_url_v2=kwargs.pop("base_url_v2", f"{server.url}/api/v2"),
        base_url_v1=f"{server.url}{V1_ROOT}",
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )


@pytest.fixture
def pop_table() -> FakeTable:
    return tab6574(DESO_2018, DESO_2025, YEARS)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --------------------------------------------------------------------------- v2 basics


def test_list_tables_sends_query_and_follows_pages(pop_table: FakeTable, clock: FakeClock) -> None:
    tables = {"TAB6574": pop_table, "TAB6680": tab6680(), "TAB9999": tab6574(DESO_2018, DESO_2025, YEARS)}
    tables["TAB9999"].table_id = "TAB9999"
    with scb_server(tables) as server, make_client(server, clock) as client:
        found = client.list_tables(query="", past_days=7)
    assert [t["id"] for t in found] == ["TAB6574", "TAB6680", "TAB9999"]
    assert found[1]["lastPeriod"] == "2024"
    first, second = server.requests
    assert (first.method, first.path) == ("GET", "/api/v2/tables")
    assert first.query == {"lang": ["sv"], "query": [""], "pastDays": ["7"]}
    assert second.query == {"lang": ["sv"], "query": [""], "pastDays": ["7"], "pageNumber": ["2"]}


def test_config_reports_server_limits(clock: FakeClock) -> None:
    with scb_server({}) as server, make_client(server, clock) as client:
        config = client.config()
    assert config["maxDataCells"] == 150000
    assert (config["maxCallsPerTimeWindow"], config["timeWindow"]) == (30, 10)


def test_metadata_v2_with_codelist(pop_table: FakeTable, clock: FakeClock) -> None:
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock) as client:
        meta = client.metadata("TAB6574", {"Region": "vs_DeSO2025"})
        again = client.metadata("TAB6574", {"Region": "vs_DeSO2025"})
    assert again is meta and len(server.requests) == 1  # memoised
    req = server.requests[0]
    assert (req.method, req.path) == ("GET", "/api/v2/tables/TAB6574/metadata")
    assert req.query == {"lang": ["sv"], "codelist[Region]": ["vs_DeSO2025"]}
    assert meta.api == "v2" and meta.codes == ["Region", "Alder", "Kon", "ContentsCode", "Tid"]
    region = meta.variable("Region")
    assert region.values == tuple(f"{c}_DeSO2025" for c in DESO_2025)
    assert region.codelist_ids == ("vs_DeSO2018", "vs_DeSO2025")
    assert region.role == "geo" and not region.elimination
    assert meta.variable("Alder").elimination and meta.variable("Kon").elimination
    assert meta.time_variable is not None and meta.time_variable.code == "Tid"
    assert meta.variable("Tid").values == tuple(YEARS)
    assert meta.variable("ContentsCode").value_labels == ("Folkmängd",)


def test_data_v2_passes_expressions_through(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["1480*"], "Tid": ["top(2)"], **POP_SELECTION}
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock) as client:
        frame = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
    assert server.sequence() == [
        ("GET", "/api/v2/tables/TAB6574/metadata"),
        ("POST", "/api/v2/tables/TAB6574/data"),
    ]
    post = server.requests[1]
    assert post.query == {"lang": ["sv"], "outputFormat": ["json-stat2"]}
    assert post.body == {
        "selection": [
            {"variableCode": "Region", "codelist": "vs_DeSO2025", "valueCodes": ["1480*"]},
            {"variableCode": "Alder", "valueCodes": ["totalt"]},
            {"variableCode": "Kon", "valueCodes": ["1+2"]},
            {"variableCode": "ContentsCode", "valueCodes": ["000007Y7"]},
            {"variableCode": "Tid", "valueCodes": ["top(2)"]},
        ]
    }
    assert post.headers["Content-Type"] == "application/json"
    assert len(frame) == 5 * 2
    assert set(frame["division"]) == {"DeSO2025"}
    assert list(frame.columns[:2]) == ["Region", "division"]
    row = frame[(frame["Region"] == "1480C3400") & (frame["Tid"] == "2025")].iloc[0]
    assert row["value"] == pop_value(pop_table, "1480C3400_DeSO2025", "2025") == 1000 + 10 * 5 + 5


def test_data_split_on_largest_variable(pop_table: FakeTable, clock: FakeClock) -> None:
    pop_table.max_cells = 6  # the fake refuses any request over 6 cells
    selection = {"Region": ["1480*"], "Tid": ["from(2023)"], **POP_SELECTION}
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock, max_cells_v2=6) as client:
        frame = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
        assert client.last_request_count == 3
    posts = server.calls("POST")
    # 5 regions x 3 years = 15 cells > 6: Region (largest) is cut into chunks of 6 // 3 = 2 codes;
    # the other expressions travel unchanged.
    region_chunks = [p.body["selection"][0]["valueCodes"] for p in posts]
    assert region_chunks == [
        ["1480C3390_DeSO2025", "1480C3400_DeSO2025"],
        ["1480C3410_DeSO2025", "1480C3420_DeSO2025"],
        ["1480C3430_DeSO2025"],
    ]
    assert all(p.body["selection"][0]["codelist"] == "vs_DeSO2025" for p in posts)
    assert all(p.body["selection"][-1] == {"variableCode": "Tid", "valueCodes": ["from(2023)"]} for p in posts)
    assert len(frame) == 15
    assert frame["Region"].tolist()[::3] == DESO_2025
    for code in DESO_2025:
        for year in ("2023", "2024", "2025"):
            row = frame[(frame["Region"] == code) & (frame["Tid"] == year)].iloc[0]
            assert row["value"] == pop_value(pop_table, f"{code}_DeSO2025", year)


def test_split_plans_splits_a_second_variable_when_needed() -> None:
    plans = [
        _VarPlan("Region", ["*"], ["a", "b", "c"], None, 3),
        _VarPlan("Tid", ["*"], ["1", "2", "3", "4"], None, 4),
        _VarPlan("ContentsCode", ["x"], ["x"], None, 1),
    ]
    parts = split_plans(plans, 2)
    sizes = [math.prod(p.count for p in part) for part in parts]
    assert max(sizes) <= 2
    assert sum(sizes) == 12  # every cell is requested exactly once
    cells = {(r, t) for part in parts for r in part[0].send for t in part[1].send}
    assert len(cells) == 12
    assert split_plans(plans, 12) == [plans]


def test_unsplittable_request_over_limit_is_refused() -> None:
    plans = [_VarPlan("Region", ["1480*"], None, None, 500), _VarPlan("Tid", ["2024"], ["2024"], None, 1)]
    with pytest.raises(SourceError, match="exceeds the limit of 100"):
        split_plans(plans, 100)


# --------------------------------------------------------------------------- retries and errors


def test_429_is_retried_honouring_retry_after(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["1480C3390_DeSO2025"], "Tid": ["2024"], **POP_SELECTION}
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock) as client:
        server.fail(2, 429, method="POST", headers={"Retry-After": "3"})
        frame = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
    assert clock.sleeps == [3.0, 3.0]
    assert [r.method for r in server.requests] == ["GET", "POST", "POST", "POST"]
    assert frame["value"].tolist() == [pop_value(pop_table, "1480C3390_DeSO2025", "2024")]


def test_5xx_is_retried_with_exponential_backoff(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["1480C3390_DeSO2025"], "Tid": ["2024"], **POP_SELECTION}
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, jitter=0.0)
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock, retry=policy) as client:
        server.fail(3, 503, pattern=r".*/data")
        frame = client.data("TAB6574", selection)
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(server.calls("POST")) == 4
    assert frame["value"].iloc[0] == pop_value(pop_table, "1480C3390_DeSO2025", "2024")


def test_backoff_jitter_and_retry_after_parsing() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.25)
    rng = random.Random(7)
    delays = [policy.backoff(n, rng) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        base = min(5.0, 2 ** (n - 1))
        assert base <= delay <= base * 1.25
    assert delays != [1.0, 2.0, 4.0, 5.0, 5.0]  # jitter did something
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0


def test_gives_up_after_max_attempts_with_clear_error(pop_table: FakeTable, clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0)
    selection = {"Region": ["1480C3390_DeSO2025"], "Tid": ["2024"], **POP_SELECTION}
    with (
        scb_server({"TAB6574": pop_table}) as server,
        make_client(server, clock, retry=policy, v1_paths={}) as client,
    ):
        server.fail(10, 500, method="POST", body={"title": "Internal Server Error", "detail": "database busy"})
        with pytest.raises(SourceUnavailableError) as info:
            client.data("TAB6574", selection)
    err = info.value
    assert err.status == 500
    assert err.url == f"{server.url}/api/v2/tables/TAB6574/data?lang=sv&outputFormat=json-stat2"
    assert "database busy" in str(err) and "gave up after 3 attempts" in str(err) and "(HTTP 500)" in str(err)
    assert len(server.calls("POST")) == 3 and clock.sleeps == [1.0, 2.0]


def test_rate_limit_exhausted_raises_rate_limited_error(pop_table: FakeTable, clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=1.0, jitter=0.0)
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock, retry=policy) as client:
        server.fail(5, 429, method="GET")
        with pytest.raises(RateLimitedError, match="rate limit exceeded"):
            client.list_tables(query="folkmängd")
    assert len(server.requests) == 2


def test_client_error_is_not_retried(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["9999X9999"], "Tid": ["2024"], **POP_SELECTION}
    with (
        scb_server({"TAB6574": pop_table}) as server,
        make_client(server, clock) as client,
        pytest.raises(SourceError) as info,
    ):
        client.data("TAB6574", selection)
    assert info.value.status == 400
    assert "unknown value code '9999X9999'" in str(info.value)
    assert len(server.calls("POST")) == 1 and clock.sleeps == []


def test_unknown_variable_is_reported_before_any_data_request(pop_table: FakeTable, clock: FakeClock) -> None:
    with (
        scb_server({"TAB6574": pop_table}) as server,
        make_client(server, clock) as client,
        pytest.raises(SourceError, match=r"no variable\(s\) \['Kön'\]"),
    ):
        client.data("TAB6574", {"Kön": ["1"]})
    assert server.calls("POST") == []


# --------------------------------------------------------------------------- v1 fallback


def test_v1_fallback_when_v2_has_no_table(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["1480*"], "Tid": ["from(2024)"], **POP_SELECTION}
    with scb_server({}, {V1_TAB6574: pop_table}) as server, make_client(server, clock) as client:
        frame = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
    assert server.sequence() == [
        ("GET", "/api/v2/tables/TAB6574/metadata"),
        ("GET", f"{V1_ROOT}/{V1_TAB6574}"),
        ("POST", f"{V1_ROOT}/{V1_TAB6574}"),
    ]
    # v1 gets explicit codes: the DeSO 2025 codes of 1480 (the pattern of vs_DeSO2025) and the years.
    assert server.requests[2].body == {
        "query": [
            {"code": "Region", "selection": {"filter": "item", "values": [f"{c}_DeSO2025" for c in DESO_2025]}},
            {"code": "Alder", "selection": {"filter": "item", "values": ["totalt"]}},
            {"code": "Kon", "selection": {"filter": "item", "values": ["1+2"]}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["000007Y7"]}},
            {"code": "Tid", "selection": {"filter": "item", "values": ["2024", "2025"]}},
        ],
        "response": {"format": "json-stat2"},
    }
    assert len(frame) == 10 and set(frame["division"]) == {"DeSO2025"}
    row = frame[(frame["Region"] == "1480C3410") & (frame["Tid"] == "2024")].iloc[0]
    assert row["value"] == pop_value(pop_table, "1480C3410_DeSO2025", "2024")


def test_v1_fallback_when_v2_is_unreachable_is_sticky(pop_table: FakeTable, clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=1.0, jitter=0.0)
    selection = {"Region": ["1480C3390"], "Tid": ["2023"], **POP_SELECTION}
    with (
        scb_server({}, {V1_TAB6574: pop_table}) as server,
        make_client(server, clock, base_url_v2=closed_port_url(), retry=policy) as client,
    ):
        first = client.data("TAB6574", selection, {"Region": "vs_DeSO2018"})
        assert client.v2_unavailable
        assert client.http_v2.network_calls == 2 and clock.sleeps == [1.0]
        second = client.data("TAB6574", {**selection, "Tid": ["2022"]}, {"Region": "vs_DeSO2018"})
        assert client.http_v2.network_calls == 2  # v2 not tried again
    assert server.sequence() == [
        ("GET", f"{V1_ROOT}/{V1_TAB6574}"),
        ("POST", f"{V1_ROOT}/{V1_TAB6574}"),
        ("POST", f"{V1_ROOT}/{V1_TAB6574}"),
    ]
    assert first["division"].tolist() == ["DeSO2018"]
    assert first["value"].tolist() == [pop_value(pop_table, "1480C3390", "2023")]
    assert second["value"].tolist() == [pop_value(pop_table, "1480C3390", "2022")]


def test_v1_fallback_after_v2_keeps_failing_with_5xx(pop_table: FakeTable, clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=1.0, jitter=0.0)
    selection = {"Region": ["1480C3390_DeSO2025"], "Tid": ["2024"], **POP_SELECTION}
    tables_v2 = {"TAB6574": pop_table}
    with scb_server(tables_v2, {V1_TAB6574: pop_table}) as server, make_client(server, clock, retry=policy) as client:
        server.fail(2, 502, pattern=r"/api/v2/.*")
        frame = client.data("TAB6574", selection)
        assert not client.v2_unavailable  # a 5xx is not "unreachable": the next table tries v2 again
    assert [m for m, _ in server.sequence()] == ["GET", "GET", "GET", "POST"]
    assert server.requests[2].path == f"{V1_ROOT}/{V1_TAB6574}"
    assert frame["value"].tolist() == [pop_value(pop_table, "1480C3390_DeSO2025", "2024")]


def test_v1_table_path_with_403_rate_limit_and_split(pop_table: FakeTable, clock: FakeClock) -> None:
    selection = {"Region": ["1480*"], "Tid": ["2024", "2025"], **POP_SELECTION}
    with (
        scb_server({}, {V1_TAB6574: pop_table}) as server,
        make_client(server, clock, max_cells_v1=4) as client,
    ):
        server.fail(1, 403, method="POST", body="Too many requests")
        frame = client.data(V1_TAB6574, selection, {"Region": "vs_DeSO2025"})
    assert all(path.startswith(V1_ROOT) for _, path in server.sequence())  # v2 never asked
    posts = server.calls("POST")
    assert len(posts) == 1 + 3  # one refused with 403, then 3 chunks of <= 2 regions x 2 years
    assert clock.sleeps == [1.0]
    chunks = [p.body["query"][0]["selection"]["values"] for p in posts[1:]]
    assert chunks == [
        ["1480C3390_DeSO2025", "1480C3400_DeSO2025"],
        ["1480C3410_DeSO2025", "1480C3420_DeSO2025"],
        ["1480C3430_DeSO2025"],
    ]
    assert len(frame) == 10
    assert frame.groupby("Region")["value"].sum()["1480C3430"] == sum(
        pop_value(pop_table, "1480C3430_DeSO2025", y) for y in ("2024", "2025")
    )


# --------------------------------------------------------------------------- cache


def test_disk_cache_hits_refresh_and_misses(pop_table: FakeTable, clock: FakeClock, tmp_path: Path) -> None:
    selection = {"Region": ["1480*"], "Tid": ["2024"], **POP_SELECTION}
    cache = tmp_path / "cache"
    with scb_server({"TAB6574": pop_table}) as server:
        with make_client(server, clock, cache_dir=cache) as client:
            first = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
            assert client.http_v2.cache_hits == 0
        assert len(server.requests) == 2
        assert len(list(cache.glob("*/*.json"))) == 2 and len(list(cache.glob("*/*.body"))) == 2

        with make_client(server, clock, cache_dir=cache) as client:  # a new client: only the disk remembers
            again = client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
            assert client.http_v2.cache_hits == 2 and client.http_v2.network_calls == 0
        assert len(server.requests) == 2
        pd.testing.assert_frame_equal(first, again)

        with make_client(server, clock, cache_dir=cache) as client:  # other body → data miss, metadata hit
            client.data("TAB6574", {**selection, "Tid": ["2025"]}, {"Region": "vs_DeSO2025"})
            assert client.http_v2.cache_hits == 1
        assert server.sequence()[2:] == [("POST", "/api/v2/tables/TAB6574/data")]

        with make_client(server, clock, cache_dir=cache, refresh=True) as client:
            client.data("TAB6574", selection, {"Region": "vs_DeSO2025"})
            assert client.http_v2.cache_hits == 0
        assert len(server.requests) == 5
    assert clock.sleeps == []


def test_failed_answers_are_not_cached(pop_table: FakeTable, clock: FakeClock, tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=1)
    with scb_server({"TAB6574": pop_table}) as server:
        server.fail(1, 500)
        with make_client(server, clock, cache_dir=tmp_path, retry=policy, v1_paths={}) as client:
            with pytest.raises(SourceUnavailableError):
                client.metadata("TAB6574")
            assert client.metadata("TAB6574").api == "v2"
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- rate limiter


def test_limiter_spaces_calls_in_a_sliding_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, 10.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(25):
        limiter.acquire()
        stamps.append(clock.now)
    assert stamps[:10] == [0.0] * 10
    assert stamps[10:20] == [10.0] * 10
    assert stamps[20:] == [20.0] * 5
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - start < 10.0) <= 10


def test_client_rate_limit_spaces_requests_on_the_server(clock: FakeClock) -> None:
    seen_at: list[float] = []
    server = ReplayServer()
    server.add("GET", "/api/v2/tables", lambda req: (seen_at.append(clock.now), _tables_reply())[1])
    with server, make_client(server, clock, rate_v2=(3, 10.0)) as client:
        for _ in range(7):
            client.list_tables(query="x", all_pages=False)
    assert seen_at == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]
    assert clock.sleeps == [10.0, 10.0]


def _tables_reply() -> Reply:
    return Reply(200, {"tables": [], "page": {"pageNumber": 1, "totalPages": 1}})


# --------------------------------------------------------------------------- codes and expressions


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1480C3390_DeSO2025", ("1480C3390", "DeSO2025")),
        ("0114A0010_DeSO2025", ("0114A0010", "DeSO2025")),
        ("1480R012_RegSO2025", ("1480R012", "RegSO2025")),
        ("1480C3390", ("1480C3390", "DeSO2018")),
        ("0581R001", ("0581R001", "RegSO2020")),
        ("1480", ("1480", "kommun")),
        ("14", ("14", "lan")),
        ("00", ("00", "riket")),
        ("SE11", ("SE11", None)),
    ],
)
def test_split_region_code(code: str, expected: tuple[str, str | None]) -> None:
    assert split_region_code(code) == expected


VALUES = ["00", "01", "0114", "0180", "03", "0380", "13", "1480"]
TIMES = ["2019", "2020", "2021", "2022", "2023"]


@pytest.mark.parametrize(
    ("expr", "values", "is_time", "expected"),
    [
        ("*", VALUES, False, VALUES),
        ("01*", VALUES, False, ["01", "0114", "0180"]),
        ("*3", VALUES, False, ["03", "13"]),
        ("0?80", VALUES, False, ["0180", "0380"]),
        ("0180", VALUES, False, ["0180"]),
        ("9999", VALUES, False, None),
        ("top(2)", TIMES, True, ["2022", "2023"]),
        ("bottom(2)", TIMES, True, ["2019", "2020"]),
        ("top(2)", VALUES, False, ["00", "01"]),
        ("from(2021)", TIMES, True, ["2021", "2022", "2023"]),
        ("to(2020)", TIMES, True, ["2019", "2020"]),
        ("range(2020,2022)", TIMES, True, ["2020", "2021", "2022"]),
        ("from(2018)", TIMES, True, TIMES),  # before the first period: everything
        ("TOP(1)", TIMES, True, ["2023"]),
    ],
)
def test_expand_expression(expr, values, is_time, expected) -> None:
    assert expand_expression(expr, values, is_time=is_time) == expected


def test_year_periods_follow_the_division_switch() -> None:
    assert year_periods(range(2021, 2026)) == [("vs_DeSO2018", [2021, 2022, 2023]), ("vs_DeSO2025", [2024, 2025])]
    assert year_periods([2024], "regso") == [("vs_RegSO2025", [2024])]
    with pytest.raises(ValueError, match="level must be one of"):
        year_periods([2024], "kommun")


# --------------------------------------------------------------------------- mapping to observations


def test_fetch_region_years_and_to_observations_tab6680(clock: FakeClock) -> None:
    mapping = SCB_MAPPINGS["TAB6680"]
    with scb_server({"TAB6680": tab6680()}) as server, make_client(server, clock) as client:
        new = client.fetch_region_years(
            "TAB6680", "1480", [2024], codelist="vs_DeSO2025", extra_selection=mapping.selection
        )
        old = client.fetch_region_years(
            "TAB6680", "1480", [2023], codelist="vs_DeSO2018", extra_selection=mapping.selection
        )
    assert server.calls("POST")[0].body == {
        "selection": [
            {"variableCode": "Region", "codelist": "vs_DeSO2025", "valueCodes": ["1480*"]},
            {"variableCode": "Kon", "valueCodes": ["1+2"]},
            {"variableCode": "Alder", "valueCodes": ["20-64"]},
            {"variableCode": "ContentsCode", "valueCodes": ["0000089V", "0000089W", "0000089X", "0000089Y"]},
            {"variableCode": "Tid", "valueCodes": ["2024"]},
        ]
    }
    obs = to_observations(pd.concat([old, new], ignore_index=True), mapping)
    assert list(obs.columns) == OBSERVATION_COLUMNS
    assert len(obs) == 2 * 2 * 2  # 2 indicators x 2 DeSO x 2 years
    assert set(obs["source"]) == {"SCB TAB6680"} and set(obs["unit"]) == {"percent"}

    def one(indicator: str, area: str, year: int) -> pd.Series:
        sel = obs[(obs["indicator"] == indicator) & (obs["area_code"] == area) & (obs["year"] == year)]
        assert len(sel) == 1
        return sel.iloc[0]

    emp = one("employment_20_64", "1480C3390", 2024)
    assert (emp["numerator"], emp["denominator"], emp["division"]) == (840.0, 1280.0, "DeSO2025")
    assert emp["value"] == pytest.approx(100 * 840 / 1280)
    unemp = one("unemployment_20_64", "1480C3400", 2024)
    assert unemp["value"] == pytest.approx(100 * 192 / 1200) and pd.isna(unemp["status"])
    old_emp = one("employment_20_64", "1480C3390", 2023)
    assert old_emp["division"] == "DeSO2018" and old_emp["value"] == pytest.approx(64.0)
    suppressed = one("employment_20_64", "1480C3400", 2023)  # employed '..', population 0
    assert math.isnan(suppressed["value"]) and math.isnan(suppressed["numerator"])
    assert suppressed["status"] == ".." and bool(suppressed["suppressed"]) is True
    assert not obs.loc[obs["value"].notna(), "suppressed"].any()
    zero_den = one("unemployment_20_64", "1480C3400", 2023)  # 0 / 0
    assert math.isnan(zero_den["value"]) and zero_den["denominator"] == 0.0
    assert bool(zero_den["suppressed"]) is False  # 0/0 has no status: not a suppressed figure


def test_to_observations_direct_value_and_ambiguity_check(pop_table: FakeTable, clock: FakeClock) -> None:
    with scb_server({"TAB6574": pop_table}) as server, make_client(server, clock) as client:
        frame = client.fetch_region_years(
            "TAB6574", "1480", [2024], codelist="vs_DeSO2025", extra_selection=POP_SELECTION
        )
        both_sexes = client.fetch_region_years(
            "TAB6574", "1480", [2024], codelist="vs_DeSO2025", extra_selection={**POP_SELECTION, "Kon": ["1", "2"]}
        )
    obs = to_observations(frame, "TAB6574")
    assert obs["indicator"].unique().tolist() == ["population"]
    assert obs["area_code"].tolist() == DESO_2025
    assert obs["value"].tolist() == [pop_value(pop_table, f"{c}_DeSO2025", "2024") for c in DESO_2025]
    assert obs["numerator"].isna().all() and obs["year"].tolist() == [2024] * 5
    assert set(obs["unit"]) == {"persons"} and set(obs["source"]) == {"SCB TAB6574"}
    with pytest.raises(ValueError, match=r"several cells per area and year.*\['Kon'\]"):
        to_observations(both_sexes, "TAB6574")


def test_fetch_scb_observations_end_to_end(pop_table: FakeTable, clock: FakeClock, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    with scb_server({"TAB6574": pop_table, "TAB6680": tab6680()}) as server:
        obs = fetch_scb_observations(
            ["TAB6574", "TAB6680"],
            "1480",
            range(2022, 2026),
            tmp_path / "cache",
            progress=lambda done, total: progress.append((done, total)),
            base_url_v2=f"{server.url}/api/v2",
            base_url_v1=f"{server.url}{V1_ROOT}",
            sleep=clock.sleep,
            clock=clock,
        )
        data_posts = server.calls("POST")
    assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    # TAB6680 has no 2025: only 2024 is asked on DeSO 2025; the 2018 period asks 2022-2023.
    assert [p.body["selection"][-1]["valueCodes"] for p in data_posts] == [
        ["2022", "2023"],
        ["2024", "2025"],
        ["2022", "2023"],
        ["2024"],
    ]
    assert [p.body["selection"][0]["codelist"] for p in data_posts] == [
        "vs_DeSO2018",
        "vs_DeSO2025",
        "vs_DeSO2018",
        "vs_DeSO2025",
    ]
    assert list(obs.columns) == OBSERVATION_COLUMNS
    pop = obs[obs["indicator"] == "population"]
    assert len(pop) == 2 * 2 + 5 * 2
    assert set(pop.loc[pop["year"] <= 2023, "division"]) == {"DeSO2018"}
    assert set(pop.loc[pop["year"] >= 2024, "division"]) == {"DeSO2025"}
    row = pop[(pop["area_code"] == "1480C3390") & (pop["year"] == 2022)].iloc[0]
    assert row["value"] == pop_value(pop_table, "1480C3390", "2022")
    emp = obs[(obs["indicator"] == "employment_20_64") & (obs["year"] == 2024)]
    assert emp.set_index("area_code")["value"].round(6).to_dict() == {"1480C3390": 65.625, "1480C3400": 67.2}
    assert obs["year"].dtype == "int64"
    assert obs.equals(obs.sort_values(["indicator", "area_code", "year"], ignore_index=True))


def test_fetch_scb_observations_rejects_unknown_table(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no indicator mapping for table\(s\) \['TAB1'\]"):
        fetch_scb_observations(["TAB1"], "1480", range(2024, 2025), tmp_path)


def test_region_var_helper_has_suffixes() -> None:
    var = region_var(BERGSJON, BERGSJON)
    assert var.codelists["vs_DeSO2025"] == ["1480C3390_DeSO2025", "1480C3400_DeSO2025"]
    assert isinstance(var, FakeVar)


def test_non_json_answer_is_an_error_and_is_not_cached(clock: FakeClock, tmp_path: Path) -> None:
    server = ReplayServer()
    server.add("GET", "/api/v2/tables/TAB6574/metadata", Reply(200, "<html>Service window</html>"))
    with server, make_client(server, clock, cache_dir=tmp_path, v1_paths={}) as client:
        with pytest.raises(SourceError, match="answer is not JSON") as info:
            client.metadata("TAB6574")
        assert info.value.body == "<html>Service window</html>"
        with pytest.raises(SourceError):
            client.metadata("TAB6574")
    assert len(server.requests) == 2 and list(tmp_path.glob("*/*")) == []


def test_disk_cache_max_age(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_age=60)
    key = DiskCache.key("POST", "https://example.org/x?a=1", b'{"q":1}')
    assert key != DiskCache.key("POST", "https://example.org/x?a=1", b'{"q":2}')
    assert key != DiskCache.key("GET", "https://example.org/x?a=1", b'{"q":1}')
    cache.set(key, method="POST", url="https://example.org/x?a=1", status=200, content=b"[1]")
    stored = cache.get(key)
    assert stored is not None and stored.content == b"[1]" and len(cache) == 1
    assert cache.get(key, now=stored.stored_at + 61) is None  # stale
    (tmp_path / key[:2] / f"{key}.body").write_bytes(b"[2]")  # tampered body → ignored
    assert cache.get(key) is None
