"""What both column generations share: 0-1 knapsack pricing by dynamic programming, and dual smoothing.

A column is one site with the points it serves; pricing a site is a 0-1 knapsack over its points'
duals with whole-number weights (children, demand), solved on the load (KINDERGARTENS.md §1, §4).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def knapsack_by_load(weights: Sequence[int], values: Sequence[float], capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """best[L] = max Σ_{k∈S} values_k over S with Σ_{k∈S} weights_k = L exactly (-inf: no such S), 0 ≤ L ≤ capacity;
    take[k, L] says item k is in that best S when only items 0..k are offered (read back by `items_at_load`)."""
    best = np.full(capacity + 1, -np.inf)
    best[0] = 0.0
    take = np.zeros((len(weights), capacity + 1), dtype=bool)
    for k, (w, v) in enumerate(zip(weights, values)):
        if w > capacity:
            continue
        shifted = best[:capacity + 1 - w] + v  # a new array: the row before item k is read, 0-1
        better = shifted > best[w:] + 1e-12
        take[k, w:] = better
        np.copyto(best[w:], shifted, where=better)
    return best, take


def items_at_load(take: np.ndarray, weights: Sequence[int], load: int) -> list[int]:
    """The positions of the items of the best set of load `load` in `knapsack_by_load`'s table."""
    chosen, rest = [], load
    for k in range(len(weights) - 1, -1, -1):
        if take[k, rest]:
            chosen.append(k)
            rest -= weights[k]
    return chosen[::-1]


def knapsack_suffixes(weights: Sequence[int], values: Sequence[float], capacity: int) -> np.ndarray:
    """table[k, c] = max Σ_{l∈S} values_l over S ⊆ {k, ..., n-1} with Σ_{l∈S} weights_l ≤ c (0-1; values ≥ 0):
    what the items from k on can still add within c, a bound for a depth-first listing of sets."""
    table = np.zeros((len(weights) + 1, capacity + 1))
    for k in range(len(weights) - 1, -1, -1):
        table[k] = table[k + 1]
        w = weights[k]
        if w <= capacity:
            np.maximum(table[k, w:], table[k + 1, :capacity + 1 - w] + values[k], out=table[k, w:])
    return table


def _at_most(best_exact: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(np.maximum(best_exact, 0.0))


def knapsack_without_each(weights: Sequence[int], values: Sequence[float], capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """For a knapsack whose item k is forced in: what the other items add at most.

    Returns (at_most, without): at_most[c] = max Σ values over sets of weight ≤ c (all items);
    without[k] = max Σ_{l∈S} values_l over S ∌ k with Σ_{l∈S} weights_l ≤ capacity - weights_k
    (-inf when weights_k > capacity). Prefix and suffix tables meet once per item: O(n · capacity).
    """
    n = len(weights)
    prefix = np.zeros((n + 1, capacity + 1))
    best = np.full(capacity + 1, -np.inf)
    best[0] = 0.0
    prefix[0] = _at_most(best)
    for k in range(n):
        best = _add_item(best, weights[k], values[k], capacity)
        prefix[k + 1] = _at_most(best)
    without = np.full(n, -np.inf)
    best = np.full(capacity + 1, -np.inf)
    best[0] = 0.0
    for k in range(n - 1, -1, -1):
        rest = capacity - weights[k]
        if rest >= 0:
            after = _at_most(best)
            without[k] = float(np.max(prefix[k][:rest + 1] + after[rest::-1]))
        best = _add_item(best, weights[k], values[k], capacity)
    return prefix[n], without


def _add_item(best: np.ndarray, weight: int, value: float, capacity: int) -> np.ndarray:
    if weight <= capacity:
        best = best.copy()
        np.maximum(best[weight:], best[:capacity + 1 - weight] + value, out=best[weight:])
    return best


class Smoothing:
    """Wentges' dual smoothing: price at α·center + (1-α)·duals, the center being the duals of the best
    Lagrangian bound so far. It damps the master's oscillating duals, which is what makes column
    generation's tail long. When a smoothed point finds no column that improves the master
    (mis-pricing), α shrinks step by step, α_k = max(0, 1 - k(1 - α)), down to plain duals."""

    def __init__(self, alpha: float = 0.8):
        self.alpha = alpha
        self.center: np.ndarray | None = None
        self.bound = -np.inf
        self.misses = 0

    def point(self, duals: np.ndarray) -> np.ndarray:
        weight = self.weight()
        if self.center is None or weight == 0.0:
            return duals
        return weight * self.center + (1.0 - weight) * duals

    def weight(self) -> float:
        return max(0.0, 1.0 - (self.misses + 1) * (1.0 - self.alpha)) if self.misses else self.alpha

    def record(self, point: np.ndarray, bound: float) -> None:
        """The Lagrangian bound at `point`: it becomes the center when it is the best so far."""
        if bound > self.bound:
            self.bound, self.center = bound, point.copy()

    def mispriced(self) -> None:
        self.misses += 1

    def priced(self) -> None:
        self.misses = 0
