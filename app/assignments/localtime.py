"""Kept for imports written before the local-time helpers moved to ``app.timefmt`` (the one place they live)."""

from app.timefmt import DEFAULT_TIMEZONE, for_input, format_local, from_local, local_zone, to_local

__all__ = ["DEFAULT_TIMEZONE", "for_input", "format_local", "from_local", "local_zone", "to_local"]
