"""Shared HTTP layer for the online connectors (SCB PxWeb, Kolada).

What it does, in the order a request goes through it:

1. **Disk cache** (:class:`DiskCache`): a successful answer is stored under a key made of the HTTP
   method, the full URL (with query string) and the SHA-256 of the request body. A later identical
   request is answered from disk without touching the network or the rate limiter. ``refresh=True``
   re-fetches and overwrites; ``use_cache=False`` neither reads nor writes.
2. **Rate limiter** (:class:`SlidingWindowLimiter`): at most ``calls`` requests in any window of
   ``period`` seconds (SCB v1: 10 per 10 s, SCB v2: 30 per 10 s). Every network attempt, including
   retries, takes a slot.
3. **Retry** (:class:`RetryPolicy`): on a retryable status (429, 5xx, and 403 where the server uses
   it for "rate limit exceeded", as SCB's v1 API does) or a connection error/timeout, wait and try
   again: ``Retry-After`` when the server sends it, else exponential backoff with jitter.
4. **Errors**: anything that is still not 2xx becomes a :class:`SourceError` (or a subclass) that
   carries the URL, the status and the server's message.

Time is injectable everywhere (``clock`` and ``sleep`` parameters), so tests never really wait.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

USER_AGENT = "handslag/0.1 (+https://github.com/; follow-up of social investments)"


# --------------------------------------------------------------------------- errors


class SourceError(RuntimeError):
    """A request to an external statistics source failed.

    Attributes:
        message: what went wrong, in one line (server message included when there is one).
        url: the full URL that was requested (``None`` when no request was made).
        status: the HTTP status code, ``None`` for connection errors.
        body: the start of the response body (at most 500 characters), for diagnostics.
    """

    def __init__(
        self, message: str, *, url: str | None = None, status: int | None = None, body: str | None = None
    ) -> None:
        self.message = message
        self.url = url
        self.status = status
        self.body = body
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.url:
            parts.append(f"[{self.url}]")
        return " ".join(parts)


class NotFoundError(SourceError):
    """The server answered 404/410: the table, path or API version does not exist there."""


class SourceUnavailableError(SourceError):
    """The server could not be reached (connection error/timeout) or kept answering 5xx."""


class RateLimitedError(SourceError):
    """The server kept refusing because of its rate limit (429, or 403 on SCB v1) after all retries."""


# --------------------------------------------------------------------------- rate limiter


class SlidingWindowLimiter:
    """Allow at most ``calls`` acquisitions within any sliding window of ``period`` seconds.

    ``acquire()`` blocks (through the injected ``sleep``) until a slot is free and returns how long
    it waited. Thread-safe. With a fake ``clock``/``sleep`` pair the spacing can be checked without
    real waiting.
    """

    def __init__(self, calls: int, period: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if calls < 1 or period <= 0:
            raise ValueError("rate limit needs calls >= 1 and period > 0")
        self.calls = calls
        self.period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one slot, sleeping first if the window is full; returns the seconds slept."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._stamps and now - self._stamps[0] >= self.period:
                    self._stamps.popleft()
                if len(self._stamps) < self.calls:
                    self._stamps.append(now)
                    return waited
                delay = self.period - (now - self._stamps[0])
                # Guard against a clock that does not move (a broken fake): always make progress.
                delay = max(delay, 1e-6)
                self._sleep(delay)
                waited += delay


# --------------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a failed request again.

    The n-th retry (n = 1, 2, ...) waits ``min(max_delay, base_delay * 2**(n-1))`` plus a random
    jitter of up to ``jitter`` times that, unless the server sent ``Retry-After`` (seconds or an
    HTTP date), which is honoured (capped at ``max_retry_after``).
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.25
    max_retry_after: float = 300.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1 (1 = no retries)")
        if self.base_delay < 0 or self.max_delay < 0 or self.jitter < 0:
            raise ValueError("RetryPolicy delays and jitter must not be negative")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Delay before retry number ``retry_number`` (1-based) when the server gave no Retry-After."""
        delay = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        if self.jitter > 0:
            delay += rng.uniform(0.0, self.jitter * delay)
        return delay

    def with_statuses(self, extra: Iterable[int]) -> RetryPolicy:
        """A copy of this policy that also retries on ``extra`` statuses (e.g. 403 for SCB v1)."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self.jitter,
            max_retry_after=self.max_retry_after,
            retry_statuses=self.retry_statuses | frozenset(extra),
        )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------- disk cache


@dataclass(frozen=True)
class CachedEntry:
    """One cached answer."""

    method: str
    url: str
    status: int
    stored_at: float
    content: bytes


class DiskCache:
    """Responses on disk, keyed by method + URL + body hash.

    Layout: ``<directory>/<key[:2]>/<key>.json`` (method, URL, status, time stored) beside
    ``<key>.body`` (the raw bytes). Writes are atomic (temporary file + rename), so a crash leaves
    either the old or the new entry. ``max_age`` (seconds) makes older entries count as missing.
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_age: float | None = None) -> None:
        self.directory = Path(directory)
        self.max_age = max_age

    @staticmethod
    def key(method: str, url: str, body: bytes | None = None) -> str:
        """The cache key: SHA-256 over method, full URL and the SHA-256 of the body."""
        body_hash = hashlib.sha256(body or b"").hexdigest()
        raw = f"{method.upper()}\n{url}\n{body_hash}".encode()
        return hashlib.sha256(raw).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.directory / key[:2]
        return folder / f"{key}.json", folder / f"{key}.body"

    def get(self, key: str, *, now: float | None = None) -> CachedEntry | None:
        """The entry for ``key``, or ``None`` when absent, unreadable or older than ``max_age``."""
        meta_path, body_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            content = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(content).hexdigest() != meta.get("body_sha256"):
            return None
        stored_at = float(meta.get("stored_at", 0.0))
        if self.max_age is not None and (now if now is not None else time.time()) - stored_at > self.max_age:
            return None
        return CachedEntry(
            method=str(meta.get("method", "")),
            url=str(meta.get("url", "")),
            status=int(meta.get("status", 200)),
            stored_at=stored_at,
            content=content,
        )

    def set(self, key: str, *, method: str, url: str, status: int, content: bytes) -> None:
        """Store an answer (atomically)."""
        meta_path, body_path = self._paths(key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "method": method.upper(),
            "url": url,
            "status": status,
            "stored_at": time.time(),
            "body_sha256": hashlib.sha256(content).hexdigest(),
        }
        _atomic_write(body_path, content)
        _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))

    def __len__(self) -> int:
        if not self.directory.exists():
            return 0
        return sum(1 for _ in self.directory.glob("*/*.json"))

    def clear(self) -> None:
        """Remove every entry."""
        for path in self.directory.glob("*/*"):
            with contextlib.suppress(OSError):
                path.unlink()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class Response:
    """A successful (2xx) answer, from the network or from the cache."""

    status: int
    url: str
    content: bytes
    from_cache: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    parsed: Any = field(default=None, compare=False, repr=False)

    def json(self) -> Any:
        """The body parsed as JSON (UTF-8; a BOM is tolerated, as SCB v1 sends one).

        Raises:
            SourceError: the body is not JSON (e.g. an HTML error page with status 200).
        """
        if self.parsed is not None:
            return self.parsed
        return parse_json(self.content, url=self.url, status=self.status)


def parse_json(content: bytes, *, url: str | None = None, status: int | None = None) -> Any:
    """Parse a JSON body or raise :class:`SourceError` with the start of the body."""
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        start = content[:200].decode("utf-8", errors="replace")
        raise SourceError(f"answer is not JSON ({exc})", url=url, status=status, body=start) from exc


def encode_json_body(body: Any) -> bytes:
    """Serialise a request body deterministically (stable cache keys)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def full_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """``url`` with ``params`` appended (``None`` values dropped), as the string that is requested."""
    if not params:
        return str(httpx.URL(url))
    clean = {k: v for k, v in params.items() if v is not None}
    return str(httpx.URL(url, params=clean))


def _server_message(response: httpx.Response) -> str:
    """The most useful short message in an error body (JSON problem details or text)."""
    text = response.text if response.content else ""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for key in ("detail", "title", "message", "error", "errors"):
            value = doc.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"].strip()
            if isinstance(value, list) and value:
                return "; ".join(str(v) for v in value)[:300]
    text = " ".join(text.split())
    return text[:300] if text else response.reason_phrase or "no message"


class HttpClient:
    """httpx with a timeout, a sliding-window rate limit, retries with backoff and a disk cache.

    Args:
        timeout: seconds per request (connect/read/write).
        limiter: rate limiter; ``None`` disables limiting.
        retry: retry policy; see :class:`RetryPolicy`.
        rate_limit_statuses: statuses that mean "too many requests" (for the error class).
        cache_dir: folder for the :class:`DiskCache`; ``None`` disables caching.
        cache_max_age: seconds after which cached answers count as stale (``None``: never).
        use_cache: read and write the cache (default ``True`` when ``cache_dir`` is set).
        refresh: skip cache reads but still write fresh answers (to re-fetch everything).
        sleep: function used for backoff waits (inject a recorder in tests).
        rng: random source for jitter.
        transport: optional httpx transport (tests).
        headers: extra request headers.
    """

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        limiter: SlidingWindowLimiter | None = None,
        retry: RetryPolicy | None = None,
        rate_limit_statuses: Iterable[int] = (429,),
        cache_dir: str | os.PathLike[str] | None = None,
        cache_max_age: float | None = None,
        use_cache: bool = True,
        refresh: bool = False,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.rate_limit_statuses = frozenset(rate_limit_statuses)
        self.cache = DiskCache(cache_dir, max_age=cache_max_age) if cache_dir is not None else None
        self.use_cache = use_cache
        self.refresh = refresh
        self._sleep = sleep
        self._rng = rng or random.Random()
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        self._client = httpx.Client(timeout=timeout, headers=all_headers, follow_redirects=True, transport=transport)
        #: Number of requests sent over the network (attempts, including retries).
        self.network_calls = 0
        #: Number of answers served from the disk cache.
        self.cache_hits = 0

    # context manager -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # requests --------------------------------------------------------------------------------
    def get(self, url: str, *, params: Mapping[str, Any] | None = None, cache: bool = True) -> Response:
        """GET ``url`` (see :meth:`request`)."""
        return self.request("GET", url, params=params, cache=cache)

    def post_json(
        self, url: str, body: Any, *, params: Mapping[str, Any] | None = None, cache: bool = True
    ) -> Response:
        """POST a JSON body to ``url`` (see :meth:`request`)."""
        return self.request("POST", url, params=params, json_body=body, cache=cache)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        cache: bool = True,
        expect_json: bool = True,
    ) -> Response:
        """Send one logical request with caching, rate limiting and retries.

        With ``expect_json`` (default) the body is parsed before it is cached, so a non-JSON answer
        (an HTML error page served with 200) raises and never lands in the cache.

        Raises:
            NotFoundError: 404/410.
            RateLimitedError: still rate limited after ``retry.max_attempts`` attempts.
            SourceUnavailableError: connection errors or 5xx after all attempts.
            SourceError: any other non-2xx answer (not retried) or a body that is not JSON.
        """
        method = method.upper()
        target = full_url(url, params)
        content = encode_json_body(json_body) if json_body is not None else None
        use_cache = cache and self.use_cache and self.cache is not None
        key = DiskCache.key(method, target, content) if use_cache else ""
        if use_cache and not self.refresh:
            assert self.cache is not None
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                log.debug("cache hit %s %s", method, target)
                parsed = parse_json(hit.content, url=target, status=hit.status) if expect_json else None
                return Response(status=hit.status, url=target, content=hit.content, from_cache=True, parsed=parsed)

        response = self._send_with_retries(method, target, content)
        parsed = parse_json(response.content, url=target, status=response.status_code) if expect_json else None
        result = Response(
            status=response.status_code,
            url=target,
            content=response.content,
            headers=dict(response.headers),
            parsed=parsed,
        )
        if use_cache:
            assert self.cache is not None
            self.cache.set(key, method=method, url=target, status=response.status_code, content=response.content)
        return result

    def _send_with_retries(self, method: str, url: str, content: bytes | None) -> httpx.Response:
        policy = self.retry
        headers = {"Content-Type": "application/json"} if content is not None else None
        last_error: SourceError | None = None
        for attempt in range(1, policy.max_attempts + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            self.network_calls += 1
            retry_after: float | None = None
            try:
                response = self._client.request(method, url, content=content, headers=headers)
            except httpx.TransportError as exc:  # connection refused, DNS, timeouts, broken reads
                last_error = SourceUnavailableError(
                    f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "), url=url
                )
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                message = _server_message(response)
                body = response.text[:500] if response.content else None
                if status in (404, 410):
                    raise NotFoundError(f"not found: {message}", url=url, status=status, body=body)
                if status not in policy.retry_statuses:
                    raise SourceError(f"request failed: {message}", url=url, status=status, body=body)
                if status in self.rate_limit_statuses:
                    last_error = RateLimitedError(f"rate limit exceeded: {message}", url=url, status=status, body=body)
                else:
                    last_error = SourceUnavailableError(f"server error: {message}", url=url, status=status, body=body)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt == policy.max_attempts:
                break
            if retry_after is not None:
                delay = min(retry_after, policy.max_retry_after)
            else:
                delay = policy.backoff(attempt, self._rng)
            log.warning(
                "%s %s: %s; retry %d/%d in %.1f s",
                method,
                url,
                last_error.message if last_error else "?",
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            self._sleep(delay)
        assert last_error is not None
        last_error.message = f"{last_error.message} (gave up after {policy.max_attempts} attempts)"
        raise last_error
