"""Flask-free, database-free simulations: the synthetic company generator and the course's customer analytics.

The generator (numpy, Faker) is imported on first use, so importing a light module such as
``simulations.catalog`` costs nothing more (the web app reads the catalogue at start-up).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulations.generator import Company, Params, Truth, data_hash, generate

__all__ = ["Company", "Params", "Truth", "data_hash", "generate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("simulations.generator"), name)
    raise AttributeError(f"module 'simulations' has no attribute {name!r}")
