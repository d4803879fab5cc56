"""Wall-clock time of the class: instructors type open/close times in local time; the database keeps UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from app.clock import aware

DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_zone() -> tzinfo:
    """The zone named by ``app.config['TIMEZONE']`` (China by default; UTC+8 when no tz database is installed)."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8), "CST")


def from_local(naive: datetime | None) -> datetime | None:
    """A datetime typed into a form (naive, local) as aware UTC."""
    if naive is None:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=local_zone())
    return naive.astimezone(UTC)


def to_local(moment: datetime | None) -> datetime | None:
    """A stored datetime (UTC, possibly naive from SQLite) in the local zone."""
    moment = aware(moment)
    return moment.astimezone(local_zone()) if moment is not None else None


def for_input(moment: datetime | None) -> datetime | None:
    """A stored datetime as the naive local value a datetime-local input shows."""
    local = to_local(moment)
    return local.replace(tzinfo=None) if local is not None else None


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "—") -> str:
    local = to_local(moment)
    return local.strftime(fmt) if local is not None else empty
