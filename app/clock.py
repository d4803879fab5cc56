"""The current time, replaceable in tests (``app.config['CLOCK']``) so deadlines can be tested."""

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """Treat naive datetimes read back from SQLite as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
