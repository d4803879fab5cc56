"""Configuration defaults; instance/config.py and environment variables override them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEV_SECRET = "dev-insecure-key"


class Config:
    SECRET_KEY = DEV_SECRET
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session; exams last longer than an hour
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    ITEMS_PER_PAGE = 20
    # Multiple-choice scoring rule: all_or_nothing | partial | moodle_sum (少选得部分分 by default).
    MULTI_CHOICE_RULE = "partial"
    EXAM_GRACE_SECONDS = 30
    # PostgreSQL: an exam's autosave commits without waiting for the disk (synchronous_commit off for that one
    # transaction; a submit, a grade and everything else still wait). The database stays consistent; if the
    # PostgreSQL server itself crashes, autosaves of its last fraction of a second (at most 3 x wal_writer_delay,
    # 0.6 s by default) can be lost, each question keeping its previous saved answer. It makes an autosave 5-6x
    # cheaper for the database (BENCHMARKS.md). False: every autosave waits for the disk.
    EXAM_AUTOSAVE_QUICK_COMMIT = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    PASSWORD_HASH_METHOD = "scrypt"
    # Sandbox companies: one DuckDB file per sandbox version (default <instance>/sandboxes; a shared volume when
    # app processes run on several machines).
    SANDBOX_DATA_DIR: str | None = os.environ.get("SANDBOX_DATA_DIR")
    SANDBOX_MAX_CUSTOMERS = 200_000  # the largest company the page may ask for (the CLI allows more)
    # Background jobs: on RQ when REDIS_URL is set, else a worker thread in the app process; JOBS_INLINE runs
    # them in the request (None: only under TESTING).
    REDIS_URL: str | None = os.environ.get("REDIS_URL")
    JOBS_INLINE: bool | None = None
    JOBS_QUEUE = "crm"
    SEEDS_DIR = os.environ.get("CRM_SEEDS_DIR") or str(Path(__file__).resolve().parent.parent.parent / "shared" / "seeds")


def instance_secret_key(instance_path: str) -> str:
    """Return the installation's secret key, generating it into instance/ on first run."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def database_url(instance_path: str) -> str:
    """Pick the database: DATABASE_URL (PostgreSQL) or SQLite in instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return "sqlite:///" + str(Path(instance_path) / "crm.sqlite3")
