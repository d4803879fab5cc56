"""Stored UTC times shown in the course's time zone (config TIMEZONE, Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from app.clock import aware


def _zone() -> tzinfo:
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8), "CST")


def format_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "—") -> str:
    """Template filter ``when``: a stored time (naive values from SQLite are UTC) as local wall-clock text."""
    moment = aware(moment)
    return moment.astimezone(_zone()).strftime(fmt) if moment is not None else empty


def register(app) -> None:
    app.jinja_env.filters.setdefault("when", format_time)
