"""Fixtures: a template database (migrated, bank loaded) built once, copied for every test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL names one (each test gets a database created from the
template with CREATE DATABASE ... TEMPLATE).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",  # cheap hashing: the suite creates many accounts
    "WTF_CSRF_ENABLED": True,
    "SERVER_NAME": None,
    "RATELIMIT_ENABLED": False,  # on only in tests/test_security.py's rate-limit tests
}


def _build_database(url: str) -> None:
    from flask_migrate import upgrade

    from app.bank.services import sync_bank
    from question_bank import load_bank

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        # Tables of features whose migration is not written yet; test_migrations.py fails until it is.
        db.create_all()
        sync_bank(load_bank())
        db.session.commit()
        db.engine.dispose()


def _admin_engine() -> sa.Engine:
    assert TEST_DATABASE_URL
    # NullPool: every connection is closed when its block ends, so no engine leaves an open connection behind
    return sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    if not TEST_DATABASE_URL:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _build_database(f"sqlite:///{path}")
        yield ("sqlite", path)
        return
    name = f"crm_tpl_{uuid.uuid4().hex[:8]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    _build_database(_pg_url(name))
    yield ("postgresql", name)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _pg_url(name: str) -> str:
    return sa.make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def database_url(template_db, tmp_path):
    kind, where = template_db
    if kind == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(where, target)
        yield f"sqlite:///{target}"
        return
    name = f"crm_t_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{where}"'))
    yield _pg_url(name)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Clock:
    """A clock the tests move by hand; the app reads it through app.config['CLOCK'] (see app/clock.py)."""

    def __init__(self, start: datetime = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock(app):
    c = Clock()
    app.config["CLOCK"] = c
    return c


# ---------------------------------------------------------------- helpers used by the tests

_TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"|'
                       r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, url: str = "/") -> str:
    """Read the CSRF token from a page the way a browser would."""
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return next(g for g in match.groups() if g)


def post_form(client, url: str, data: dict | None = None, page: str | None = None, **kwargs):
    """POST a form with the CSRF token read from ``page`` (default: the same URL)."""
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client, page or url)
    return client.post(url, data=payload, **kwargs)


def make_user(app, username: str = "alice", role: str = "student", password: str = "secret123"):
    from app.models import User

    with app.app_context():
        user = User(username=username, role=role, display_name=username.title())
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


def login(client, username: str = "alice", password: str = "secret123"):
    response = post_form(client, "/auth/login", {"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def student(app, client):
    make_user(app, "alice", "student")
    login(client, "alice")
    return client


@pytest.fixture
def instructor(app, client):
    make_user(app, "teacher", "instructor")
    login(client, "teacher")
    return client


def seeds_dir() -> Path:
    from app.config import Config

    return Path(Config.SEEDS_DIR)
