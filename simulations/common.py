"""Shared helpers of the generator: named random streams, category draws, money rounding, the month grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]
DateArray = npt.NDArray[np.datetime64]
CodeMatrix = npt.NDArray[np.int8]
Table = dict[str, npt.NDArray[Any]]

# One numpy stream per part of the model, so that changing one part does not shift the draws of another.
STREAMS = ("pools", "customers", "timeline", "tickets", "surveys", "orders", "lines", "interactions",
           "campaigns", "truth", "products", "reps", "ticket_text")


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """Return the numpy generator of one named stream, so streams do not shift each other."""
    return np.random.default_rng(np.random.SeedSequence([seed, STREAMS.index(stream)]))


def choice(rng: np.random.Generator, probs: npt.ArrayLike, size: int) -> IntArray:
    """Draw ``size`` category indices with the given (unnormalised) probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def choice_by_group(rng: np.random.Generator, table: FloatArray, group: IntArray) -> IntArray:
    """Draw one category per row from the probability row ``table[group[row]]``.

    One search over the stacked CDFs: row g's CDF is shifted by g, and a draw u for a row of group g looks up g + u.
    """
    k = table.shape[1]
    cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    stacked = (np.arange(table.shape[0], dtype=np.float64)[:, None] + cdf).ravel()
    hit = search_right(stacked, group + rng.random(group.size))
    return np.asarray(np.minimum(hit - group * k, k - 1), dtype=np.int64)


BUCKETS = 8192  # buckets per unit of needle value in search_right (a power of two: bucket edges are exact)


def search_right(haystack: FloatArray, needles: FloatArray) -> IntArray:
    """``np.searchsorted(haystack, needles, side="right")`` for millions of non-negative needles in a small
    sorted haystack, four to five times quicker and with the same result.

    Each needle falls in a bucket of width 1/BUCKETS; where the answer is the same at the edges of the bucket's
    neighbours (the search is monotone), it is the answer for every needle of the bucket (a table look-up); only
    needles in buckets that hold a haystack value (a few per cent) are searched one by one.
    """
    if needles.size == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(np.ceil(needles.max()))
    at_edge = np.searchsorted(haystack, np.arange(-1, top * BUCKETS + 3, dtype=np.float64) / BUCKETS, side="right")
    bucket = (needles * BUCKETS).astype(np.int64)  # the needle lies in [(bucket - 1) / B, (bucket + 2) / B)
    hit = at_edge[bucket]  # the answer at (bucket - 1) / B
    unsure = np.flatnonzero(hit != at_edge[bucket + 3])  # ... and at (bucket + 2) / B
    hit[unsure] = np.searchsorted(haystack, needles[unsure], side="right")
    return np.asarray(hit, dtype=np.int64)


def money(values: npt.NDArray[Any]) -> FloatArray:
    """Round to fen (2 decimals)."""
    return np.asarray(np.round(values.astype(np.float64), 2), dtype=np.float64)


@dataclass(frozen=True)
class Grid:
    """The monthly grid of the observed history."""

    months: int
    as_of: np.datetime64
    first: np.datetime64  # datetime64[M] of month 0

    def start(self, m: IntArray) -> DateArray:
        """Return the first day of months ``m`` (may be before the history)."""
        return (self.first + m.astype("timedelta64[M]")).astype("datetime64[D]")

    def length(self, m: IntArray) -> IntArray:
        """Return the usable days of months ``m`` (the last month stops at as_of)."""
        start = self.start(m)
        end = (self.first + (m + 1).astype("timedelta64[M]")).astype("datetime64[D]")
        end = np.minimum(end, self.as_of + np.timedelta64(1, "D"))
        return np.asarray(end - start, dtype=np.int64)

    def month_of(self, dates: DateArray) -> IntArray:
        """Return the month index of dates."""
        return (dates.astype("datetime64[M]") - self.first).astype(np.int64)

    def random_day(self, rng: np.random.Generator, m: IntArray, lo: IntArray | None = None) -> DateArray:
        """Return a uniform random day in months ``m``, not before day offset ``lo`` of the month."""
        length = self.length(m)
        low = np.zeros_like(length) if lo is None else np.minimum(lo, length - 1)
        offset = low + np.floor(rng.random(m.size) * (length - low)).astype(np.int64)
        return np.asarray(self.start(m) + offset.astype("timedelta64[D]"), dtype="datetime64[D]")


def weekday(dates: DateArray) -> IntArray:
    """Return the weekday of dates, 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return np.asarray((dates.astype("datetime64[D]").astype(np.int64) + 3) % 7, dtype=np.int64)


def weighted_days(rng: np.random.Generator, grid: Grid, m: IntArray, weights: tuple[float, ...],
                  lo: IntArray | None = None, rounds: int = 12) -> DateArray:
    """Return a random day in months ``m`` (from day offset ``lo``) with weekdays weighted Monday..Sunday.

    Rejection sampling: a day is kept with probability weight / max weight, the others are drawn again.
    """
    w = np.asarray(weights, dtype=np.float64)
    keep_p = w / w.max()
    days = grid.random_day(rng, m, lo)
    todo = np.flatnonzero(rng.random(m.size) >= keep_p[weekday(days)])
    for _ in range(rounds):
        if todo.size == 0:
            break
        days[todo] = grid.random_day(rng, m[todo], None if lo is None else lo[todo])
        todo = todo[rng.random(todo.size) >= keep_p[weekday(days[todo])]]
    return days
