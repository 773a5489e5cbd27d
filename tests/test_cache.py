"""The shared result cache: LRU bound, hit/miss counts, one cache per holder and name."""

from __future__ import annotations

from types import SimpleNamespace

from handslag.cache import ResultCache, named_cache


def test_lru_bound_and_counts():
    cache = ResultCache(size=2)
    calls = []

    def build(x):
        calls.append(x)
        return x * 10

    assert cache.get("a", lambda: build(1)) == 10
    assert cache.get("a", lambda: build(99)) == 10  # hit: not rebuilt
    cache.get("b", lambda: build(2))
    cache.get("a", lambda: build(99))  # touch a → b is now the oldest
    cache.get("c", lambda: build(3))  # evicts b
    assert cache.get("b", lambda: build(4)) == 40
    assert calls == [1, 2, 3, 4]
    assert (cache.hits, cache.misses, len(cache)) == (2, 4, 2)


def test_named_caches_are_per_holder():
    one, two = SimpleNamespace(), SimpleNamespace()
    assert named_cache(one, "maps") is named_cache(one, "maps")
    assert named_cache(one, "maps") is not named_cache(one, "pages")
    assert named_cache(one, "maps") is not named_cache(two, "maps")
