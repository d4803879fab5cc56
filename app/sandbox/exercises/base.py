"""The exercise registry: each exercise is one class with key, title, topic, parameters, prompt, form and checker.

Like ``app/grading.py`` for question types (a new exercise is one class added with ``@register``):

``make_params(sandbox, user_id, variant)``
    Deterministic per student (and per variant, for practice "换一组"): different customers, dates, budgets.
``prompt(params)``
    The task in Chinese (lines of plain text).
``fields(params, ctx)``
    What the answer form asks for (numbers, choices, sets).
``parse(params, form, ctx)``
    The submitted form as a JSON-able answer.
``check(params, answer, truth, data)``
    A ``Result``: score 0..1 and Chinese feedback that says what was right, what was off and why. ``data`` is
    the sandbox's observable analytics (``analysis.View``); ``truth`` the generator's hidden truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np


REGISTRY: dict[str, Exercise] = {}


@dataclass
class Result:
    score: float
    feedback: list[str]
    expected: dict[str, Any] = field(default_factory=dict)  # the right answer, for the record

    @property
    def correct(self) -> bool:
        return self.score >= 0.999


@dataclass
class Field:
    name: str
    label: str
    kind: str = "number"  # number | int | choice | multi
    options: list[tuple[str, str]] = field(default_factory=list)
    hint: str = ""
    step: str = "any"


class Exercise:
    key: ClassVar[str]
    title: ClassVar[str]
    topic: ClassVar[str]
    summary: ClassVar[str] = ""

    def available(self, data: Any) -> bool:
        """Whether the sandbox's data supports this exercise (some need a scenario's customers)."""
        return True

    def make_params(self, sandbox: Any, user_id: int, variant: int = 0) -> dict[str, Any]:
        raise NotImplementedError

    def prompt(self, params: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def fields(self, params: dict[str, Any], ctx: dict[str, Any] | None = None) -> list[Field]:
        """The answer form; ``ctx`` carries page data some forms list (products, the student's segments)."""
        raise NotImplementedError

    def parse(self, params: dict[str, Any], form: Any, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields(params, ctx):
            if f.kind == "multi":
                out[f.name] = sorted(v for v in form.getlist(f.name) if v in {o[0] for o in f.options})
            elif f.kind in ("number", "int"):
                out[f.name] = parse_number(form.get(f.name))
            else:
                value = (form.get(f.name) or "").strip()
                out[f.name] = value if value in {o[0] for o in f.options} else None
        return out

    def check(self, params: dict[str, Any], answer: dict[str, Any], truth: Any, data: Any) -> Result:
        raise NotImplementedError


def register(cls: type[Exercise]) -> type[Exercise]:
    REGISTRY[cls.key] = cls()
    return cls


# ------------------------------------------------------------------------------------------------- helpers

def rng_for(sandbox: Any, user_id: int, key: str, variant: int) -> np.random.Generator:
    import numpy as np

    from app.sandbox.services import stable_seed

    return np.random.default_rng(stable_seed("exercise", key, sandbox.id, sandbox.seed, user_id, variant))


def parse_number(text: Any) -> float | None:
    import numpy as np

    if text is None:
        return None
    cleaned = str(text).strip().replace(",", "").replace(",", "").replace("%", "").replace("%", "")
    cleaned = cleaned.replace("¥", "").replace("元", "").strip()
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def grade_number(value: float | None, expected: float, full: float, half: float) -> float:
    """1 within ``full`` of the expected value, 0.5 within ``half``, else 0 (absolute tolerances)."""
    if value is None:
        return 0.0
    gap = abs(value - expected)
    if gap <= full + 1e-9:
        return 1.0
    if gap <= half + 1e-9:
        return 0.5
    return 0.0


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def money(value: float) -> str:
    return f"¥{value:,.2f}"


def pick(rng: np.random.Generator, pool: np.ndarray, k: int) -> list[int]:
    """k distinct values from a pool (fewer if the pool is small), in ascending order."""
    import numpy as np

    pool = np.asarray(pool)
    if pool.size == 0:
        return []
    chosen = rng.choice(pool, size=min(k, pool.size), replace=False)
    return sorted(int(x) for x in chosen)


def set_score(chosen: set[str], right: set[str]) -> float:
    """Partial credit for a set: (right picks − wrong picks) / size of the right set, within 0..1."""
    if not right:
        return 1.0 if not chosen else 0.0
    return max(0.0, min(1.0, (len(chosen & right) - len(chosen - right)) / len(right)))
