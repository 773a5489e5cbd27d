"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright, and a real uvicorn server.

Import it only after ``skip_without_browser()`` has run at module level (it skips the whole module with a
message when Playwright or ``/usr/bin/chromium`` is missing).
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run",
               # WebGL for MapLibre without a GPU: software rendering
               "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
NOT_OURS = re.compile(r"^(?!http://127\.0\.0\.1:).*")


def skip_without_browser():
    """Skip the calling test module unless Playwright and Debian's Chromium are installed; return the API."""
    api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install -y chromium)", allow_module_level=True)
    return api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(database) -> Iterator[str]:
    """The app on ``database`` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    import uvicorn

    from handslag.config import get_settings
    from handslag.web.app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db=database, settings=get_settings()), host="127.0.0.1",
                                        port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium(api) -> Iterator[object]:
    ARTIFACTS.mkdir(exist_ok=True)
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser, *, width: int = 1280, height: int = 900, timeout_ms: int = 20_000) -> Iterator[object]:
    """A page in its own context that may reach nothing but our loopback server."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.route(NOT_OURS, lambda route: route.abort())
    try:
        yield page
    finally:
        context.close()
