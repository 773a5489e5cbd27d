"""Local HTTP servers that replay SCB PxWeb (v2, v1) and Kolada (v3, v2) answers.

Everything runs in-process on 127.0.0.1 with an ephemeral port (``ThreadingHTTPServer`` in a
daemon thread). Every request is recorded (method, path, query, parsed JSON body) so tests can
assert the exact sequence the server saw, and the server can be scripted to fail the next N
matching requests with 429/403/500 (optionally with ``Retry-After``).

The SCB fakes compute their answers from a small table description (:class:`FakeTable`): they
resolve selections themselves (wildcards, ``top``/``from``, code lists), refuse requests over
their cell limit, and build JSON-stat 2.0 datasets in row-major order. The formats follow the
methods brief §4 (v2 metadata as JSON-stat 2.0 with ``extension.elimination``/``codelists`` and
``role``; v1 ``variables`` metadata and ``query`` bodies). ``TAB6574_DATA`` is a literal v2 answer
for 2 DeSO × 2 years.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# --------------------------------------------------------------------------- generic replay server


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    raw_body: bytes
    headers: dict[str, str]

    def q(self, name: str) -> str | None:
        """The (first) value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What a route answers: status, body (dict/list → JSON, str/bytes as is) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[RecordedRequest], Reply]


@dataclass
class _Failure:
    remaining: int
    status: int
    method: str | None
    pattern: re.Pattern[str] | None
    headers: dict[str, str]
    body: Any


class ReplayServer:
    """A scriptable HTTP server on 127.0.0.1 (use as a context manager)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._failures: list[_Failure] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # setup -----------------------------------------------------------------------------------
    def add(self, method: str, pattern: str, handler: Handler | Reply) -> None:
        """Answer ``method`` requests whose path fully matches the regex ``pattern``."""
        fn: Handler = handler if callable(handler) else (lambda _req, r=handler: r)
        self._routes.append((method.upper(), re.compile(pattern), fn))

    def fail(
        self,
        times: int,
        status: int,
        *,
        method: str | None = None,
        pattern: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of the route."""
        self._failures.append(
            _Failure(
                times,
                status,
                method.upper() if method else None,
                re.compile(pattern) if pattern else None,
                dict(headers or {}),
                body if body is not None else {"title": f"scripted failure {status}", "status": status},
            )
        )

    # lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._url is not None, "server not started"
        return self._url

    def start(self) -> ReplayServer:
        """Bind an ephemeral port and serve in a daemon thread."""
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                req = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    body=body,
                    raw_body=raw,
                    headers={k: v for k, v in self.headers.items()},
                )
                reply = outer._dispatch(req)
                data = reply.body
                if isinstance(data, dict | list):
                    payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
                    ctype = "application/json; charset=utf-8"
                elif isinstance(data, str):
                    payload, ctype = data.encode("utf-8"), "text/plain; charset=utf-8"
                elif data is None:
                    payload, ctype = b"", "text/plain"
                else:
                    payload, ctype = bytes(data), "application/octet-stream"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self._url = f"http://{host}:{port}"
        # A short poll interval keeps shutdown() fast (the default waits up to 0.5 s per server).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # dispatch --------------------------------------------------------------------------------
    def _dispatch(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
            for failure in self._failures:
                if failure.remaining <= 0:
                    continue
                if failure.method and failure.method != req.method:
                    continue
                if failure.pattern and not failure.pattern.fullmatch(req.path):
                    continue
                failure.remaining -= 1
                return Reply(failure.status, failure.body, failure.headers)
        for method, pattern, handler in self._routes:
            if method == req.method and pattern.fullmatch(req.path):
                try:
                    return handler(req)
                except Exception as exc:  # a bug in a fake should show up as a 500 with the reason
                    return Reply(500, {"title": f"fake server error: {type(exc).__name__}: {exc}"})
        return Reply(404, {"title": "Not Found", "status": 404, "detail": f"no route for {req.path}"})

    # helpers for assertions -------------------------------------------------------------------
    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method and a path substring."""
        return [r for r in self.requests if (method is None or r.method == method.upper()) and path_contains in r.path]

    def sequence(self) -> list[tuple[str, str]]:
        """``[(method, path), ...]`` in arrival order."""
        return [(r.method, r.path) for r in self.requests]


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it (records every sleep)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- SCB table model


@dataclass
class FakeVar:
    """A variable of a fake PxWeb table."""

    code: str
    label: str
    values: list[str]
    labels: list[str] | None = None
    elimination: bool = False
    time: bool = False
    codelists: dict[str, list[str]] = field(default_factory=dict)  # id → codes in the list

    def label_of(self, code: str) -> str:
        if self.labels is None:
            return code
        return dict(zip(self.values, self.labels, strict=True)).get(code, code)


@dataclass
class FakeTable:
    """A fake table whose cell values come from ``value_fn({var: code}) -> float | None``.

    ``None`` gives a JSON ``null`` with status ``..`` (SCB's "no data / suppressed").
    """

    table_id: str
    label: str
    variables: list[FakeVar]
    value_fn: Callable[[dict[str, str]], float | None]
    max_cells: int = 150_000

    def var(self, code: str) -> FakeVar:
        return next(v for v in self.variables if v.code == code)


def _fake_expand(exprs: Sequence[str], universe: Sequence[str], is_time: bool) -> list[str]:
    """The fake server's own (independent, minimal) reading of selection expressions."""
    picked: set[str] = set()
    for expr in exprs:
        m = re.fullmatch(r"(top|bottom|from|to)\((.+)\)", expr.strip())
        if m:
            name, arg = m.group(1), m.group(2)
            if name == "top":
                picked.update(universe[-int(arg) :] if is_time else universe[: int(arg)])
            elif name == "bottom":
                picked.update(universe[: int(arg)] if is_time else universe[-int(arg) :])
            elif name == "from":
                picked.update(universe[universe.index(arg) :])
            else:
                picked.update(universe[: universe.index(arg) + 1])
        elif "*" in expr or "?" in expr:
            picked.update(v for v in universe if fnmatch.fnmatchcase(v, expr))
        elif expr in universe:
            picked.add(expr)
        else:
            raise KeyError(f"unknown value code {expr!r}")
    return [v for v in universe if v in picked]


def _dataset(table: FakeTable, chosen: list[tuple[FakeVar, list[str]]], *, with_values: bool) -> dict[str, Any]:
    """A JSON-stat 2.0 dataset for the chosen variables/codes (row-major, last dimension fastest)."""
    ids = [v.code for v, _ in chosen]
    sizes = [len(codes) for _, codes in chosen]
    doc: dict[str, Any] = {
        "version": "2.0",
        "class": "dataset",
        "label": table.label,
        "source": "SCB",
        "updated": "2026-03-25T06:00:00Z",
        "id": ids,
        "size": sizes,
        "dimension": {
            v.code: {
                "label": v.label,
                "category": {
                    "index": {c: i for i, c in enumerate(codes)},
                    "label": {c: v.label_of(c) for c in codes},
                },
                "extension": {
                    "elimination": v.elimination,
                    **(
                        {
                            "codelists": [
                                {"id": cid, "label": cid.removeprefix("vs_"), "type": "Valueset", "links": []}
                                for cid in v.codelists
                            ]
                        }
                        if v.codelists and not with_values
                        else {}
                    ),
                },
            }
            for v, codes in chosen
        },
        "role": {
            "time": [v.code for v, _ in chosen if v.time],
            "geo": [v.code for v, _ in chosen if v.code == "Region"],
            "metric": [v.code for v, _ in chosen if v.code == "ContentsCode"],
        },
        "extension": {"px": {"tableid": table.table_id, "language": "sv"}},
    }
    if not with_values:
        return doc
    values: list[float | None] = []
    status: dict[str, str] = {}
    n = math.prod(sizes)
    for pos in range(n):
        cell: dict[str, str] = {}
        rem = pos
        for (var, codes), size_after in zip(chosen, _strides(sizes), strict=True):
            idx, rem = divmod(rem, size_after)
            cell[var.code] = codes[idx]
        value = table.value_fn(cell)
        if value is None:
            status[str(pos)] = ".."
        values.append(value)
    doc["value"] = values
    if status:
        doc["status"] = status
    return doc


def _strides(sizes: list[int]) -> list[int]:
    out = []
    for i in range(len(sizes)):
        out.append(math.prod(sizes[i + 1 :]))
    return out


def _universe(var: FakeVar, codelist: str | None) -> list[str]:
    if codelist is None:
        return list(var.values)
    if codelist not in var.codelists:
        raise KeyError(f"variable {var.code} has no code list {codelist}")
    return list(var.codelists[codelist])


def add_scb_v2(server: ReplayServer, tables: Mapping[str, FakeTable], base: str = "/api/v2") -> None:
    """Routes of PxWebApi 2.0 for ``tables``: /config, /tables, /tables/{id}/metadata, /data."""
    base = base.rstrip("/")

    def config(_req: RecordedRequest) -> Reply:
        return Reply(
            200,
            {
                "apiVersion": "2.3.2",
                "maxDataCells": 150000,
                "maxCallsPerTimeWindow": 30,
                "timeWindow": 10,
                "defaultDataFormat": "json-stat2",
            },
        )

    def list_tables(req: RecordedRequest) -> Reply:
        query = (req.q("query") or "").lower()
        hits = [t for t in tables.values() if query in t.label.lower() or query in t.table_id.lower()]
        size = int(req.q("pageSize") or 2)
        page = int(req.q("pageNumber") or 1)
        pages = max(1, math.ceil(len(hits) / size))
        chunk = hits[(page - 1) * size : page * size]
        items = [
            {
                "id": t.table_id,
                "label": t.label,
                "description": "",
                "updated": "2026-03-25T06:00:00Z",
                "firstPeriod": next(v for v in t.variables if v.time).values[0],
                "lastPeriod": next(v for v in t.variables if v.time).values[-1],
                "variableNames": [v.label for v in t.variables],
                "links": [],
            }
            for t in chunk
        ]
        return Reply(
            200,
            {
                "language": req.q("lang") or "sv",
                "tables": items,
                "page": {
                    "pageNumber": page,
                    "pageSize": size,
                    "totalElements": len(hits),
                    "totalPages": pages,
                },
                "links": [],
            },
        )

    def metadata(req: RecordedRequest) -> Reply:
        table_id = req.path.split("/")[-2]
        if table_id not in tables:
            return Reply(404, {"title": "Not Found", "status": 404, "detail": f"table {table_id} not found"})
        table = tables[table_id]
        chosen = []
        for var in table.variables:
            chosen.append((var, _universe(var, req.q(f"codelist[{var.code}]"))))
        return Reply(200, _dataset(table, chosen, with_values=False))

    def data(req: RecordedRequest) -> Reply:
        table_id = req.path.split("/")[-2]
        if table_id not in tables:
            return Reply(404, {"title": "Not Found", "status": 404, "detail": f"table {table_id} not found"})
        if req.q("outputFormat") != "json-stat2":
            return Reply(400, {"title": "fake only serves json-stat2"})
        table = tables[table_id]
        selection = {s["variableCode"]: s for s in (req.body or {}).get("selection", [])}
        chosen = []
        try:
            for var in table.variables:
                if var.code in selection:
                    item = selection[var.code]
                    universe = _universe(var, item.get("codelist"))
                    chosen.append((var, _fake_expand(item["valueCodes"], universe, var.time)))
                elif not var.elimination:
                    chosen.append((var, list(var.values)))
        except KeyError as exc:
            return Reply(400, {"title": "Bad request", "status": 400, "detail": str(exc.args[0])})
        cells = math.prod(len(c) for _, c in chosen)
        if cells > table.max_cells:
            detail = f"{cells} cells, max {table.max_cells}"
            return Reply(400, {"title": "Too many cells selected", "status": 400, "detail": detail})
        return Reply(200, _dataset(table, chosen, with_values=True))

    server.add("GET", f"{base}/config", config)
    server.add("GET", f"{base}/tables", list_tables)
    server.add("GET", f"{base}/tables/[^/]+/metadata", metadata)
    server.add("POST", f"{base}/tables/[^/]+/data", data)


def add_scb_v1(
    server: ReplayServer,
    tables: Mapping[str, FakeTable],
    base: str = "/OV0104/v1/doris/sv/ssd",
    max_cells: int = 100_000,
) -> None:
    """Routes of the v1 API: GET <path> → variables, POST <path> with a ``query`` body."""
    base = base.rstrip("/")

    def metadata(req: RecordedRequest) -> Reply:
        table = tables[req.path[len(base) + 1 :]]
        return Reply(
            200,
            {
                "title": table.label,
                "variables": [
                    {
                        "code": v.code,
                        "text": v.label,
                        "values": list(v.values),
                        "valueTexts": [v.label_of(c) for c in v.values],
                        **({"elimination": True} if v.elimination else {}),
                        **({"time": True} if v.time else {}),
                    }
                    for v in table.variables
                ],
            },
        )

    def data(req: RecordedRequest) -> Reply:
        table = tables[req.path[len(base) + 1 :]]
        body = req.body or {}
        if (body.get("response") or {}).get("format") != "json-stat2":
            return Reply(400, "fake only serves json-stat2")
        query = {q["code"]: q["selection"] for q in body.get("query", [])}
        chosen = []
        try:
            for var in table.variables:
                if var.code in query:
                    sel = query[var.code]
                    if sel["filter"] == "item":
                        missing = [c for c in sel["values"] if c not in var.values]
                        if missing:
                            raise KeyError(f"unknown values {missing}")
                        chosen.append((var, [c for c in var.values if c in set(sel["values"])]))
                    elif sel["filter"] == "all":
                        chosen.append((var, _fake_expand(sel["values"], var.values, var.time)))
                    elif sel["filter"] == "top":
                        chosen.append((var, var.values[-int(sel["values"][0]) :]))
                    else:
                        raise KeyError(f"unsupported filter {sel['filter']}")
                elif not var.elimination:
                    chosen.append((var, list(var.values)))
        except KeyError as exc:
            return Reply(400, str(exc.args[0]))
        cells = math.prod(len(c) for _, c in chosen)
        if cells > max_cells:
            return Reply(403, "Too many values selected")
        return Reply(200, _dataset(table, chosen, with_values=True))

    for path in tables:
        server.add("GET", re.escape(f"{base}/{path}"), metadata)
        server.add("POST", re.escape(f"{base}/{path}"), data)


@contextmanager
def scb_server(
    v2_tables: Mapping[str, FakeTable] | None = None, v1_tables: Mapping[str, FakeTable] | None = None
) -> Iterator[ReplayServer]:
    """A started server with the v2 routes under ``/api/v2`` and v1 under ``/OV0104/v1/doris/sv/ssd``."""
    server = ReplayServer()
    add_scb_v2(server, v2_tables or {})
    add_scb_v1(server, v1_tables or {})
    with server:
        yield server


# --------------------------------------------------------------------------- realistic SCB tables

# Real DeSO 2025 codes of Göteborg (Bergsjön); 2025 populations 2630 and 2941 are the values in
# shared/data/stats/deso2025_1480_indikatorer_2024_2025.csv, 2024 derived with its `growth`.
BERGSJON = ["1480C3390", "1480C3400"]

#: A literal PxWebApi 2.0 answer for TAB6574, 2 DeSO 2025 × 2 years, with one ``..`` cell
#: (1480C3400 in 2025, inserted here to exercise the decoder; SCB does publish that figure).
TAB6574_DATA: dict[str, Any] = {
    "version": "2.0",
    "class": "dataset",
    "label": "Folkmängden per region efter ålder, kön, tabellinnehåll och år",
    "source": "SCB",
    "updated": "2026-03-25T06:00:00Z",
    "id": ["Region", "Alder", "Kon", "ContentsCode", "Tid"],
    "size": [2, 1, 1, 1, 2],
    "dimension": {
        "Region": {
            "label": "region",
            "category": {
                "index": {"1480C3390_DeSO2025": 0, "1480C3400_DeSO2025": 1},
                "label": {"1480C3390_DeSO2025": "1480C3390", "1480C3400_DeSO2025": "1480C3400"},
            },
            "extension": {"elimination": False, "show": "code"},
        },
        "Alder": {
            "label": "ålder",
            "category": {"index": {"totalt": 0}, "label": {"totalt": "totalt ålder"}},
            "extension": {"elimination": True},
        },
        "Kon": {
            "label": "kön",
            "category": {"index": {"1+2": 0}, "label": {"1+2": "totalt"}},
            "extension": {"elimination": True},
        },
        "ContentsCode": {
            "label": "tabellinnehåll",
            "category": {
                "index": {"000007Y7": 0},
                "label": {"000007Y7": "Folkmängd"},
                "unit": {"000007Y7": {"base": "antal", "decimals": 0}},
            },
            "extension": {"elimination": False},
        },
        "Tid": {
            "label": "år",
            "category": {"index": {"2024": 0, "2025": 1}, "label": {"2024": "2024", "2025": "2025"}},
            "extension": {"elimination": False},
        },
    },
    "value": [2630, 2630, 2938, None],
    "status": {"3": ".."},
    "role": {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]},
    "extension": {"px": {"tableid": "TAB6574", "decimals": 0, "language": "sv"}},
}


def region_var(deso_2018: Sequence[str], deso_2025: Sequence[str], extra: Sequence[str] = ()) -> FakeVar:
    """A Region variable with the code lists SCB uses (2025 codes carry the ``_DeSO2025`` suffix)."""
    suffixed = [f"{c}_DeSO2025" for c in deso_2025]
    return FakeVar(
        "Region",
        "region",
        values=[*extra, *deso_2018, *suffixed],
        elimination=False,
        codelists={"vs_DeSO2018": list(deso_2018), "vs_DeSO2025": suffixed},
    )


def tab6574(deso_2018: Sequence[str], deso_2025: Sequence[str], years: Sequence[str]) -> FakeTable:
    """A fake TAB6574 (population by region, age, sex): ``1000 + 10 × position of the (suffixed)
    region code in the Region variable + (year − 2020)``, so every cell is distinct."""
    region = region_var(deso_2018, deso_2025, extra=["00", "1480"])

    def value(cell: dict[str, str]) -> float | None:
        return 1000.0 + 10 * region.values.index(cell["Region"]) + (int(cell["Tid"]) - 2020)

    return FakeTable(
        "TAB6574",
        "Folkmängden per region efter ålder och kön. År 2010 - 2025",
        [
            region,
            FakeVar("Alder", "ålder", ["totalt", "-4", "5-9"], elimination=True),
            FakeVar("Kon", "kön", ["1", "2", "1+2"], elimination=True),
            FakeVar("ContentsCode", "tabellinnehåll", ["000007Y7"], ["Folkmängd"]),
            FakeVar("Tid", "år", list(years), time=True),
        ],
        value,
    )


#: Counts per DeSO for TAB6680 (20-64, both sexes): V labour force, W unemployed, X employed,
#: Y population. ``None`` is a suppressed cell.
TAB6680_COUNTS: dict[tuple[str, str], dict[str, float | None]] = {
    ("1480C3390_DeSO2025", "2024"): {"0000089V": 1010, "0000089W": 170, "0000089X": 840, "0000089Y": 1280},
    ("1480C3400_DeSO2025", "2024"): {"0000089V": 1200, "0000089W": 192, "0000089X": 1008, "0000089Y": 1500},
    ("1480C3390", "2023"): {"0000089V": 1000, "0000089W": 200, "0000089X": 800, "0000089Y": 1250},
    ("1480C3400", "2023"): {"0000089V": 0, "0000089W": 0, "0000089X": None, "0000089Y": 0},
}


def tab6680() -> FakeTable:
    """A fake TAB6680 (labour-market status by region, sex, age) with :data:`TAB6680_COUNTS`."""

    def value(cell: dict[str, str]) -> float | None:
        if cell.get("Alder") != "20-64" or cell.get("Kon") != "1+2":
            return 1.0
        return TAB6680_COUNTS.get((cell["Region"], cell["Tid"]), {}).get(cell["ContentsCode"], 0.0)

    return FakeTable(
        "TAB6680",
        "Arbetsmarknadsstatus efter bostadens belägenhet, region (DeSO/RegSO), kön och ålder",
        [
            region_var(BERGSJON, BERGSJON),
            FakeVar("Kon", "kön", ["1", "2", "1+2"], elimination=False),
            FakeVar("Alder", "ålder", ["16-64", "20-64", "20-65"], elimination=False),
            FakeVar("ContentsCode", "tabellinnehåll", ["0000089V", "0000089W", "0000089X", "0000089Y"]),
            FakeVar("Tid", "år", ["2020", "2021", "2022", "2023", "2024"], time=True),
        ],
        value,
    )


# --------------------------------------------------------------------------- Kolada


def kolada_record(
    kpi: str,
    municipality: str,
    period: int,
    total: float | None,
    women: float | None = None,
    men: float | None = None,
) -> dict[str, Any]:
    """A Kolada data object with per-gender values (``T``, ``K``, ``M``)."""
    values = [{"count": 1, "gender": "T", "status": "", "value": total}]
    if women is not None:
        values.append({"count": 1, "gender": "K", "status": "", "value": women})
    if men is not None:
        values.append({"count": 1, "gender": "M", "status": "", "value": men})
    return {"kpi": kpi, "municipality": municipality, "period": period, "values": values}


def add_kolada(
    server: ReplayServer,
    records: Sequence[dict[str, Any]],
    *,
    base: str = "/v3",
    page_size: int = 3,
    paging: str = "next_url",
    kpis: Sequence[dict[str, Any]] = (),
    municipalities: Sequence[dict[str, Any]] = (),
) -> None:
    """Kolada routes under ``base``; data pages of ``page_size`` items linked by ``paging``
    (``next_url`` for v3, ``next_page`` for v2; both absolute URLs)."""
    base = base.rstrip("/")

    def paged(req: RecordedRequest, items: list[dict[str, Any]]) -> Reply:
        page = int(req.q("page") or 1)
        chunk = items[(page - 1) * page_size : page * page_size]
        doc: dict[str, Any] = {"values": chunk, "count": len(chunk)}
        if page * page_size < len(items):
            query = "&".join(f"{k}={v[0]}" for k, v in req.query.items() if k != "page")
            nxt = f"{server.url}{req.path}?{query + '&' if query else ''}page={page + 1}"
            doc[paging] = nxt
        prev_key = "previous_url" if paging == "next_url" else "previous_page"
        doc[prev_key] = None
        return Reply(200, doc)

    def data(req: RecordedRequest) -> Reply:
        m = re.fullmatch(rf"{re.escape(base)}/data/kpi/([^/]+)/municipality/([^/]+)/year/([^/]+)", req.path)
        assert m
        want_kpi = set(m.group(1).split(","))
        want_mun = set(m.group(2).split(","))
        want_year = {int(y) for y in m.group(3).split(",")}
        items = [
            r for r in records if r["kpi"] in want_kpi and r["municipality"] in want_mun and r["period"] in want_year
        ]
        return paged(req, items)

    def kpi(req: RecordedRequest) -> Reply:
        rest = req.path[len(f"{base}/kpi") :].strip("/")
        if rest:
            ids = set(rest.split(","))
            items = [k for k in kpis if k["id"] in ids]
        else:
            title = (req.q("title") or "").lower()
            items = [k for k in kpis if title in k["title"].lower()]
        return paged(req, items)

    def municipality(req: RecordedRequest) -> Reply:
        title = (req.q("title") or "").lower()
        return paged(req, [m for m in municipalities if title in m["title"].lower()])

    server.add("GET", rf"{re.escape(base)}/data/kpi/[^/]+/municipality/[^/]+/year/[^/]+", data)
    server.add("GET", rf"{re.escape(base)}/kpi(/[^/]+)?", kpi)
    server.add("GET", rf"{re.escape(base)}/municipality", municipality)
