"""``handslag serve`` as the README runs it: a real server process on an empty SQLite database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path, extra_env: dict, args: list[str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDSLAG_")}
    env.update({"HANDSLAG_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
                "HANDSLAG_SECRET_KEY": "test-secret", "HANDSLAG_CACHE_DIR": str(tmp_path / "cache"), **extra_env})
    proc = subprocess.Popen([sys.executable, "-m", "handslag", "serve", "--host", "127.0.0.1", "--port", str(port),
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not start within 120 s")


@pytest.mark.realdata
def test_serve_loads_the_snapshot_on_first_start(tmp_path, shared_data):
    proc, base = _start(tmp_path, {"HANDSLAG_DATA_DIR": str(shared_data)}, ["--demo"])
    try:
        body = httpx.get(f"{base}/api/v1/areas", params={"kommun": "1480", "level": "deso",
                                                         "division": "DeSO2025"}).json()
        assert body["total"] == 320
        police = httpx.get(f"{base}/api/v1/police-list", params={"edition": 2025}).json()
        assert len(police["areas"]) == 65
        # --demo created the example partnership (its API needs a login; look in the store)
        assert httpx.get(f"{base}/api/v1/partnerships").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    import sqlite3

    with sqlite3.connect(tmp_path / "serve.sqlite") as con:
        names = [r[0] for r in con.execute("select name from partnerships")]
    assert names == ["Handslag Bergsjön (exempel)"]


def test_serve_starts_without_data(tmp_path):
    proc, base = _start(tmp_path, {}, [])
    try:
        body = httpx.get(f"{base}/api/v1/areas", params={"level": "kommun", "limit": 1}).json()
        assert body["total"] == 290  # the shipped registry is there even without data
        assert httpx.get(f"{base}/api/v1/areas", params={"level": "deso"}).json()["total"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_with_two_workers(tmp_path):
    proc, base = _start(tmp_path, {}, ["--workers", "2"])
    try:
        for _ in range(40):
            r = httpx.get(f"{base}/api/v1/areas", params={"level": "lan", "limit": 1})
            assert r.status_code == 200 and r.json()["total"] == 21
        assert httpx.get(f"{base}/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
