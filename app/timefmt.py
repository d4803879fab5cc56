"""Local time of the course: the database keeps UTC, people read and type the course's wall clock.

The zone is the setting TIMEZONE (Asia/Shanghai by default). Every template shows a time through the one filter
``local_time``; forms turn what an instructor typed back into UTC with ``from_local``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from app.clock import aware, now

DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_zone() -> tzinfo:
    """The zone named by ``app.config['TIMEZONE']`` (China by default; UTC+8 when no tz database is installed)."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8), "CST")


def to_local(moment: datetime | None) -> datetime | None:
    """A stored datetime (UTC, naive when read back from SQLite) in the local zone."""
    moment = aware(moment)
    return moment.astimezone(local_zone()) if moment is not None else None


def from_local(naive: datetime | None) -> datetime | None:
    """A datetime typed into a form (naive, local wall clock) as aware UTC."""
    if naive is None:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=local_zone())
    return naive.astimezone(UTC)


def for_input(moment: datetime | None) -> datetime | None:
    """A stored datetime as the naive local value a datetime-local input shows."""
    local = to_local(moment)
    return local.replace(tzinfo=None) if local is not None else None


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "—") -> str:
    """Template filter ``local_time``: a stored time as local wall-clock text (``empty`` when there is none)."""
    local = to_local(moment)
    return local.strftime(fmt) if local is not None else empty


def local_date(moment: datetime) -> date:
    """The local calendar day of a moment (a student's 'today' starts at local midnight, not UTC midnight)."""
    local = to_local(moment)
    assert local is not None
    return local.date()


def local_today() -> date:
    return local_date(now())


def day_start(day: date) -> datetime:
    """The UTC moment at which a local calendar day begins."""
    start = from_local(datetime.combine(day, time.min))
    assert start is not None
    return start


def register(app) -> None:
    app.jinja_env.filters["local_time"] = format_local
