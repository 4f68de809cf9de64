"""Pearson's chi-square test of independence, with its p-value computed here (no SciPy).

The p-value of a chi-square statistic ``x`` with ``df`` degrees of freedom is
``Q(df / 2, x / 2)``, the regularized upper incomplete gamma function, which is
evaluated as in Numerical Recipes (2nd ed., section 6.2): by its series when
``x < a + 1`` and by its continued fraction (modified Lentz) otherwise.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_MAX_ITERATIONS = 10_000
_EPSILON = 1e-15
_TINY = 1e-300


@dataclass(frozen=True)
class ChiSquare:
    """The outcome of a chi-square test of independence.

    ``small_expected`` warns that the test is unreliable: more than 20% of the
    expected counts are below 5, or one is below 1 (Cochran's rule).
    """

    statistic: float
    df: int
    p_value: float
    small_expected: bool


def chi_square(table: Sequence[Sequence[int]]) -> ChiSquare | None:
    """Test a table of counts for independence (no continuity correction).

    Rows and columns whose total is zero are left out; returns None when fewer
    than two rows or two columns remain.
    """
    rows = [list(row) for row in table if sum(row)]
    if not rows:
        return None
    kept = [index for index in range(len(rows[0])) if sum(row[index] for row in rows)]
    rows = [[row[index] for index in kept] for row in rows]
    if len(rows) < 2 or len(kept) < 2:
        return None
    row_totals = [sum(row) for row in rows]
    column_totals = [sum(column) for column in zip(*rows)]
    total = sum(row_totals)
    expected = [[r * c / total for c in column_totals] for r in row_totals]
    statistic = sum((observed - wanted) ** 2 / wanted
                    for row, wanted_row in zip(rows, expected) for observed, wanted in zip(row, wanted_row))
    flat = [wanted for wanted_row in expected for wanted in wanted_row]
    small = sum(1 for wanted in flat if wanted < 5) > 0.2 * len(flat) or min(flat) < 1
    df = (len(rows) - 1) * (len(kept) - 1)
    return ChiSquare(statistic, df, chi_square_p_value(statistic, df), small)


def chi_square_p_value(statistic: float, df: int) -> float:
    """The probability of a chi-square value at least ``statistic`` with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    return regularized_upper_gamma(df / 2, max(statistic, 0.0) / 2)


def regularized_upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x ≥ 0."""
    if a <= 0 or x < 0:
        raise ValueError("Q(a, x) needs a > 0 and x >= 0")
    if x == 0:
        return 1.0
    if x < a + 1:
        return max(0.0, 1.0 - _lower_series(a, x))
    return _upper_continued_fraction(a, x)


def _prefactor(a: float, x: float) -> float:
    return math.exp(-x + a * math.log(x) - math.lgamma(a))


def _lower_series(a: float, x: float) -> float:
    """P(a, x) by its series; converges quickly for x < a + 1."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPSILON:
            break
    return total * _prefactor(a, x)


def _upper_continued_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz); converges quickly for x ≥ a + 1."""
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for step in range(1, _MAX_ITERATIONS):
        numerator = -step * (step - a)
        b += 2
        d = numerator * d + b
        d = 1 / (d if abs(d) > _TINY else _TINY)
        c = b + numerator / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        fraction *= delta
        if abs(delta - 1) < _EPSILON:
            break
    return fraction * _prefactor(a, x)
