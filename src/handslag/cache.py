"""A small thread-safe LRU for computed read models (map GeoJSON, pages, dashboards).

Callers put a *data stamp* (:func:`handslag.store.imports_repo.data_stamp`) in every key, so an entry can
never outlive the data it was built from; the LRU only bounds memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ResultCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        value = compute()  # outside the lock: two first requests may both compute, which is harmless
        with self._lock:
            self.misses += 1
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)


def named_cache(holder: Any, name: str, size: int = 256) -> ResultCache:
    """The cache called ``name`` kept on ``holder`` (e.g. ``app.state``), created on first use."""
    caches: dict[str, ResultCache] | None = getattr(holder, "caches", None)
    if caches is None:
        caches = {}
        holder.caches = caches
    if name not in caches:
        caches[name] = ResultCache(size)
    return caches[name]
