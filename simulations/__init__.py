"""Flask-free, database-free simulations: the synthetic company generator and the course's customer analytics."""

from simulations.generator import Company, Params, Truth, data_hash, generate

__all__ = ["Company", "Params", "Truth", "data_hash", "generate"]
