"""One rounding rule for every score shown or stored: half up, one decimal (6.55 → 6.6, 6.25 → 6.3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

STEP = Decimal("0.1")
STEP_TEXT = "0.1"  # the step of every score input, so any value the rule produces is a valid entry


def round_score(value: float) -> float:
    """Round a score half up to one decimal (repr() first, so 6.55 is 6.55 and not 6.5499999…)."""
    return float(Decimal(repr(float(value))).quantize(STEP, rounding=ROUND_HALF_UP))


def format_score(value: float | None, empty: str = "—") -> str:
    """Template filter ``score``: a score rounded by the rule, always with its one decimal (6.6, 15.0)."""
    if value is None:
        return empty
    return f"{round_score(value):.1f}"
