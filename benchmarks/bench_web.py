"""Load benchmark of the web app: uvicorn (production settings) on 127.0.0.1 under 50 concurrent clients.

Run from the repository root (needs ``../shared/data`` or ``--data``; ``wrk`` from Debian if present)::

    .venv/bin/python benchmarks/bench_web.py                  # 1 and 2 workers, 10 s per endpoint
    .venv/bin/python benchmarks/bench_web.py --workers 2 --duration 5 --tool httpx

What it does, all in a temporary folder that is removed afterwards (``--keep`` keeps it):

1. a fresh SQLite database: ``handslag data import-snapshot DATA`` and ``handslag demo`` (the CLI, as a user
   would), plus a viewer account ``bench`` for the partnership dashboard;
2. ``uvicorn bench_web:make_app --factory --workers N --log-level warning`` (no reload, no access log) on a
   free port of 127.0.0.1; ``make_app`` is ``handslag.web.app.create_app()`` plus a ``/_bench_static`` mount
   of the temporary folder, so the same server can serve a file of exactly the same size from disk;
3. logs in through the form (``/logga-in``) and passes the session cookie for the dashboard (a GET: no CSRF);
4. for each endpoint and its same-size static file: a short warm-up, then ``wrk -t2 -c50 -d10s`` (latency
   percentiles from a Lua ``done`` hook) or, without wrk, an asyncio httpx client with 50 workers;
5. prints p50/p95/p99 latency, requests/s, non-2xx/socket errors and the ratio to the static file.

Endpoints: the map GeoJSON ``/api/v1/kommuner/1480/map?level=deso&division=DeSO2025`` (cached in memory per
worker), the area profile page ``/omrade/1480C3390`` and ``/api/v1/partnerships/{id}/dashboard``. Only
127.0.0.1 is contacted; the run stops by itself (every step has a time limit). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TARGET_P95_MS = 200.0
STATIC_MOUNT = "/_bench_static"
# --what-if pool: at least the anyio thread limiter (40) plus the clients, so no thread waits for a connection
POOL_SIZE, POOL_OVERFLOW = 20, 60

WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def make_app():
    """uvicorn factory (imported in each worker): the real app plus a static mount for the same-size files."""
    from fastapi.staticfiles import StaticFiles

    from handslag.web.app import create_app

    db = None
    if os.environ.get("HANDSLAG_BENCH_FIX") == "1":  # --what-if: the two fixes proposed in the report
        from handslag.store.db import Database

        _patch_session_middleware()
        db = Database(os.environ["HANDSLAG_DATABASE_URL"], pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    app = create_app(db=db)
    app.mount(STATIC_MOUNT, StaticFiles(directory=os.environ["HANDSLAG_BENCH_STATIC"]), name="bench_static")
    return app


def _patch_session_middleware() -> None:
    """``--what-if`` (benchmark only): the session middleware of ``handslag.web.auth`` with the user lookup
    moved off the event loop (``run_in_threadpool``).

    As shipped, ``_load_user`` runs a blocking database query on the event loop for every request with a
    session cookie. Endpoints with the ``get_session`` yield-dependency keep their pooled connection until
    FastAPI runs the dependency's exit in the thread pool – scheduled by that event loop. Once the pool
    (5 + 10) is taken, the loop blocks in ``_load_user`` waiting for a connection that only the loop can
    give back: the server hangs until the 30 s pool timeout (then 500s). Off the loop alone is not enough:
    40 worker threads waiting for 15 connections whose exits need a worker thread is the same cycle, hence
    also the larger pool (``POOL_SIZE + POOL_OVERFLOW``)."""
    from itsdangerous import BadSignature
    from starlette.concurrency import run_in_threadpool

    from handslag.web import auth

    async def dispatch(self, request, call_next):  # a copy of auth.SessionMiddleware.dispatch but for one line
        data = auth.SessionData()
        raw = request.cookies.get(auth.COOKIE)
        if raw:
            try:
                loaded = auth._serializer(request).loads(raw, max_age=auth.SESSION_MAX_AGE)
                if isinstance(loaded, dict):
                    data = auth.SessionData(loaded)
            except BadSignature:
                data = auth.SessionData()
                data.modified = True
        request.state.session = data
        request.state.user = None
        uid = data.get("uid")
        if isinstance(uid, int):
            request.state.user = await run_in_threadpool(auth._load_user, request, uid)  # the change
            if request.state.user is None:
                data.clear()
        response = await call_next(request)
        if data.modified:
            secure = request.url.scheme == "https"
            if data:
                response.set_cookie(auth.COOKIE, auth._serializer(request).dumps(dict(data)),
                                    max_age=auth.SESSION_MAX_AGE, httponly=True, samesite="lax", secure=secure,
                                    path="/")
            else:
                response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
        return response

    auth.SessionMiddleware.dispatch = dispatch


@dataclass
class Result:
    workers: int
    name: str
    path: str
    size: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx + socket errors + timeouts
    tool: str
    variant: str = "as shipped"
    hung: bool = False  # the server stopped answering during/after this run (restarted for the next one)


# --- setup ------------------------------------------------------------------------------------------------


def _env(tmp: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDSLAG_")}
    env.update({
        "HANDSLAG_DATABASE_URL": db_url,
        "HANDSLAG_SECRET_KEY": secrets.token_urlsafe(32),  # the same key in every worker
        "HANDSLAG_BENCH_STATIC": str(tmp / "static"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"), "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    return env


def _cli(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 900) -> str:
    out = subprocess.run([sys.executable, "-m", "handslag", *args], env=env, input=stdin, capture_output=True,
                         text=True, timeout=timeout, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"handslag {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def prepare_database(env: dict[str, str], data: Path, password: str) -> int:
    t0 = time.perf_counter()
    _cli(env, "data", "import-snapshot", str(data))
    _cli(env, "demo")
    _cli(env, "user", "add", "bench", "--role", "viewer", "--password-stdin", stdin=password + "\n")
    sys.path.insert(0, str(REPO / "src"))
    from handslag.store.db import Database
    from handslag.store.goals_repo import example_partnership_ids

    db = Database(env["HANDSLAG_DATABASE_URL"])
    try:
        with db.session() as session:
            ids = example_partnership_ids(session)
    finally:
        db.dispose()
    if not ids:
        raise SystemExit("handslag demo created no example partnership")
    print(f"database ready in {time.perf_counter() - t0:.1f} s (snapshot + demo partnership {ids[0]})", flush=True)
    return ids[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``uvicorn bench_web:make_app --factory`` in its own process group; stopped on exit."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.env, self.workers = env, workers
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = log
        cmd = [sys.executable, "-m", "uvicorn", "bench_web:make_app", "--factory", "--app-dir", str(REPO / "benchmarks"),
               "--host", HOST, "--port", str(self.port), "--workers", str(workers), "--log-level", "warning",
               "--no-access-log"]
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._fh, stderr=subprocess.STDOUT, cwd=REPO,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"uvicorn exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/static/handslag.css", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"uvicorn did not answer within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def alive(self, timeout: float = 10) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.base}/static/handslag.css", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._fh.close()


def login_cookie(base: str, username: str, password: str) -> str:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/logga-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = client.post("/logga-in", data={"username": username, "password": password, "csrf_token": token,
                                           "next": "/"})
        if r.status_code not in (200, 303) or "handslag_session" not in client.cookies:
            raise SystemExit(f"login failed: {r.status_code} {r.text[:300]}")
        return f"handslag_session={client.cookies['handslag_session']}"


# --- load generators ------------------------------------------------------------------------------------------


def run_wrk(url: str, headers: dict[str, str], connections: int, seconds: float, threads: int,
            script: Path) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "-s", str(script)]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    secs = raw["duration_us"] / 1e6
    return {"requests": raw["requests"], "seconds": secs, "p50": raw["p50"] / 1000, "p95": raw["p95"] / 1000,
            "p99": raw["p99"] / 1000, "max": raw["max"] / 1000,
            "errors": raw["status"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]}


def run_httpx(url: str, headers: dict[str, str], connections: int, seconds: float) -> dict:
    """Fallback without wrk: ``connections`` asyncio workers, each with its own keep-alive connection."""
    import httpx

    async def main() -> dict:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
            start = time.perf_counter()
            deadline = start + seconds

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    try:
                        r = await client.get(url)
                        ok = r.status_code < 300
                    except httpx.HTTPError:
                        ok = False
                    latencies.append(time.perf_counter() - t0)
                    errors += not ok

            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - start
        latencies.sort()

        def pct(p: float) -> float:
            return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else 0.0

        return {"requests": len(latencies), "seconds": elapsed, "p50": pct(50), "p95": pct(95), "p99": pct(99),
                "max": 1000 * latencies[-1] if latencies else 0.0, "errors": errors}

    return asyncio.run(main())


# --- main ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("HANDSLAG_SHARED_DATA",
                                                                         REPO.parent / "shared" / "data")))
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to measure, e.g. 1,2")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unreported load before each run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--what-if", choices=["no", "only", "also"], default="no",
                        help="measure with the proposed fixes (user lookup off the event loop, pool 20+60) "
                             "instead of / as well as the app as shipped")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server logs)")
    args = parser.parse_args()
    if not (args.data / "SOURCES.md").exists():
        raise SystemExit(f"no snapshot folder at {args.data} (use --data)")
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk) – or use --tool httpx")
    workers_list = [int(w) for w in args.workers.split(",") if w.strip()]
    variants = {"no": [False], "only": [True], "also": [False, True]}[args.what_if]

    tmp = Path(tempfile.mkdtemp(prefix="handslag-bench-"))
    (tmp / "static").mkdir()
    script = tmp / "report.lua"
    script.write_text(WRK_LUA)
    env = _env(tmp, f"sqlite:///{tmp / 'bench.sqlite'}")
    password = secrets.token_urlsafe(16)
    results: list[Result] = []
    servers: list[Server] = []
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load generator {tool}, "
          f"{args.connections} connections, {args.duration:g} s per endpoint", flush=True)
    try:
        pid = prepare_database(env, args.data, password)
        # (label, path, needs the session cookie, file name of the same-size copy)
        endpoints = [("map GeoJSON", "/api/v1/kommuner/1480/map?level=deso&division=DeSO2025", False, "map.geojson"),
                     ("area profile", "/omrade/1480C3390", False, "omrade.html"),
                     ("dashboard (logged in)", f"/api/v1/partnerships/{pid}/dashboard", True, "dashboard.json")]
        for patched in variants:
            variant = "what-if: user off loop + pool 20+60" if patched else "as shipped"
            run_env = {**env, "HANDSLAG_BENCH_FIX": "1" if patched else "0"}
            for workers in workers_list:
                print(f"-- {workers} worker(s), {variant}", flush=True)
                results += run_config(run_env, workers, tmp, endpoints, password, tool, args, script, variant,
                                      servers)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args.connections)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


def _start(env: dict[str, str], workers: int, tmp: Path, servers: list[Server]) -> Server:
    server = Server(env, workers, tmp / f"uvicorn-{workers}-{len(servers)}.log")
    servers.append(server)
    server.wait_ready()
    return server


def run_config(env: dict[str, str], workers: int, tmp: Path, endpoints: list[tuple[str, str, bool, str]],
               password: str, tool: str, args: argparse.Namespace, script: Path, variant: str,
               servers: list[Server]) -> list[Result]:
    import httpx

    server = _start(env, workers, tmp, servers)
    cookie = login_cookie(server.base, "bench", password)
    targets: list[tuple[str, str, dict[str, str]]] = []
    for name, path, needs_cookie, static_name in endpoints:
        headers = {"Cookie": cookie} if needs_cookie else {}
        r = httpx.get(server.base + path, headers=headers, timeout=60)
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
        (tmp / "static" / static_name).write_bytes(r.content)  # the same bytes (and size), served from disk
        targets.append((name, path, headers))
        targets.append((f"  static, same size ({len(r.content):,} B)", f"{STATIC_MOUNT}/{static_name}", {}))
        if needs_cookie:
            targets.append(("  static + session cookie", f"{STATIC_MOUNT}/{static_name}", headers))
    out: list[Result] = []
    for name, path, headers in targets:
        url = server.base + path
        size = len(httpx.get(url, headers=headers, timeout=60).content)

        def load(seconds: float, url: str = url, headers: dict[str, str] = headers) -> dict:
            if tool == "wrk":
                return run_wrk(url, headers, args.connections, seconds, args.threads, script)
            return run_httpx(url, headers, args.connections, seconds)

        if args.warmup > 0:
            load(args.warmup)
        m = load(args.duration)
        hung = not server.alive()
        res = Result(workers, name, path, size, m["requests"], round(m["seconds"], 2),
                     round(m["requests"] / m["seconds"], 1), round(m["p50"], 1), round(m["p95"], 1),
                     round(m["p99"], 1), round(m["max"], 1), m["errors"], tool, variant, hung)
        out.append(res)
        print(f"  {name.strip():32s} {res.rps:9.1f} req/s  p50 {res.p50_ms:7.1f}  p95 {res.p95_ms:7.1f}  "
              f"p99 {res.p99_ms:7.1f} ms  errors {res.errors}" + ("  SERVER HUNG (restarted)" if hung else ""),
              flush=True)
        if hung:  # a fresh server for the remaining targets, so one hang does not spoil the rest
            server.stop()
            server = _start(env, workers, tmp, servers)
    server.stop()
    return out


def report(results: list[Result], connections: int) -> None:
    print()
    print(f"{'variant':38s} {'wk':>2}  {'endpoint':32s} {'bytes':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}  vs endpoint")
    last: Result | None = None
    for r in results:
        if r.path.startswith(STATIC_MOUNT) and last is not None and (last.hung or last.requests == 0):
            ratio = "(endpoint answered nothing)"
        elif r.path.startswith(STATIC_MOUNT) and last is not None:
            ratio = f"static {r.rps / max(last.rps, 0.01):.1f}× req/s, p95 {last.p95_ms / max(r.p95_ms, 0.01):.1f}× lower"
        else:
            last, ratio = r, ""
        hung = "  HUNG" if r.hung else ""
        print(f"{r.variant[:38]:38s} {r.workers:>2}  {r.name[:32]:32s} {r.size:>9,} {r.rps:>8.1f} {r.p50_ms:>8.1f} "
              f"{r.p95_ms:>8.1f} {r.p99_ms:>8.1f} {r.errors:>6}  {ratio}{hung}")
    print()
    for r in results:
        if not r.path.startswith(STATIC_MOUNT):
            ok = r.p95_ms < TARGET_P95_MS and r.errors == 0 and not r.hung and r.requests > 0
            detail = ("no response: server hung" if r.hung or r.requests == 0
                      else f"p95 {r.p95_ms:.1f} ms, {r.errors} errors")
            print(f"target p95 < {TARGET_P95_MS:.0f} ms at {connections} clients – {r.variant}, {r.workers} worker(s), "
                  f"{r.name}: {'met' if ok else 'NOT met'} ({detail})")


if __name__ == "__main__":
    main()
