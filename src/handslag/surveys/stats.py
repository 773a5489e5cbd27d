"""Interval estimates used by the survey indices.

- :func:`wilson_interval`: Wilson score interval for a proportion (Wilson 1927); with weights, ``n`` is
  Kish's effective sample size.
- :func:`newcombe_interval`: Newcombe's hybrid score interval for the difference of two independent
  proportions (Newcombe 1998, method 10), built from the two Wilson intervals.
- :func:`mover_interval`: the same recovery of variance estimates (Zou & Donner 2008) for any two
  independent estimates with intervals (used when one side has no respondent-level data).
- :func:`kish_effective_n`: ``(Σw)² / Σw²``.
- :func:`bootstrap_counts` / :func:`percentile_interval`: the non-parametric bootstrap over respondents
  (resampling with replacement; replicate counts drawn with numpy, no per-replicate Python loop).
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.stats import norm


def z_value(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return float(norm.ppf(0.5 + confidence / 2))


def wilson_interval(p: np.ndarray | float, n: np.ndarray | float, confidence: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportion(s) ``p`` (0–1) from ``n`` (effective) observations.

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) · sqrt(p(1−p)/n + z²/4n²)``.
    Returns (low, high) as 0–1; NaN where ``n`` ≤ 0.
    """
    z = z_value(confidence)
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def mover_interval(est_b, low_b, high_b, est_a, low_a, high_a) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval for ``est_b − est_a`` from two independent intervals (MOVER / Newcombe's method 10).

    ``L = d − sqrt((b − lb)² + (ua − a)²)``, ``U = d + sqrt((ub − b)² + (a − la)²)``.
    """
    est_b, low_b, high_b, est_a, low_a, high_a = (np.asarray(v, dtype=float) for v in
                                                  (est_b, low_b, high_b, est_a, low_a, high_a))
    diff = est_b - est_a
    low = diff - np.sqrt((est_b - low_b) ** 2 + (high_a - est_a) ** 2)
    high = diff + np.sqrt((high_b - est_b) ** 2 + (est_a - low_a) ** 2)
    return diff, low, high


def newcombe_interval(p_b, n_b, p_a, n_a, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference ``p_b − p_a`` of two independent proportions (0–1) with Newcombe's hybrid score interval."""
    low_b, high_b = wilson_interval(p_b, n_b, confidence)
    low_a, high_a = wilson_interval(p_a, n_a, confidence)
    return mover_interval(p_b, low_b, high_b, p_a, low_a, high_a)


def kish_effective_n(weights: np.ndarray, axis: int = 0) -> np.ndarray:
    """Kish's effective sample size ``(Σw)² / Σw²`` (equals n for equal weights)."""
    w = np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.square(w.sum(axis=axis)) / np.square(w).sum(axis=axis)


def stable_rng(seed: int, *keys: object) -> np.random.Generator:
    """A generator seeded by ``seed`` and stable keys (so a group's result does not depend on the others)."""
    parts = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(parts)


def bootstrap_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """``(n_boot, n)`` matrix: how often each of ``n`` units is drawn in each bootstrap replicate."""
    draws = rng.integers(0, n, size=(n_boot, n), dtype=np.int64)
    draws += (np.arange(n_boot, dtype=np.int64) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95, axis: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval over ``axis`` (NaN replicates ignored)."""
    alpha = (1 - confidence) / 2
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            low = np.nanquantile(replicates, alpha, axis=axis)
            high = np.nanquantile(replicates, 1 - alpha, axis=axis)
    return low, high
