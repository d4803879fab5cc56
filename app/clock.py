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
    """Return a datetime in UTC: naive values read back from SQLite are UTC; PostgreSQL's carry an offset."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
