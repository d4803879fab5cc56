"""The CRM course platform: create_app() builds the Flask application."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import DEV_SECRET, Config, database_url, instance_secret_key
from app.extensions import csrf, db, login_manager

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then FLASK_* environment variables."""
    app = Flask(__name__, instance_relative_config=True)
    from app.security import install_converters

    install_converters(app)  # before any route: ids beyond a database integer are 404s
    app.config.from_object(Config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
        env_secret = os.environ.get("SECRET_KEY")
        if env_secret:
            app.config["SECRET_KEY"] = env_secret
            app.config["SECRET_FROM_ENV"] = True
        elif app.config["SECRET_KEY"] == DEV_SECRET:
            app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.instance_path)
    if app.config["SECRET_KEY"] == DEV_SECRET and not (app.debug or app.testing):
        raise RuntimeError("拒绝以开发用密钥启动：请设置 SECRET_KEY 或删除 instance/config.py 中的 SECRET_KEY")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.sqlite_writes import QueuedWriterConnection

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 30, "factory": QueuedWriterConnection},
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}

    from app.sessions import RememberingSessionInterface

    app.session_interface = RememberingSessionInterface()
    db.init_app(app)
    app.extensions = LazyExtensions(app, app.extensions)
    login_manager.init_app(app)
    csrf.init_app(app)

    from app import (
        jobs,
        models,  # noqa: F401  (register the tables)
    )
    from app.auth import bp as auth_bp
    from app.bank import bp as bank_bp
    from app.cli import register_cli
    from app.markdown import render_markdown
    from app.timefmt import register as register_time_filter

    app.register_blueprint(auth_bp)
    app.register_blueprint(bank_bp)
    jobs.init_app(app)
    _register_optional_blueprints(app)
    register_cli(app)
    app.jinja_env.filters["markdown"] = render_markdown
    register_time_filter(app)
    _register_error_pages(app)
    from app.exam_integrity import init_exam_integrity
    from app.security import init_security

    init_security(app)  # first: its guard refuses NUL bytes before any other hook queries with them
    init_exam_integrity(app)
    from app.backup import register_backup_cli

    register_backup_cli(app)  # after the blueprints: rate limits go on their registered views
    _register_template_globals(app)
    if app.config.get("TEMPLATE_CACHE_DIR") or not app.testing:
        _cache_compiled_templates(app)
    return app


def _cache_compiled_templates(app: Flask) -> None:
    """Keep Jinja's compiled templates under ``instance/cache/templates``: a new worker's first page reads them
    instead of compiling every template it renders again (Jinja checks each template's source checksum, and writes a
    cache file under a temporary name before renaming it, so several workers can share the directory)."""
    from jinja2 import FileSystemBytecodeCache

    directory = Path(app.config.get("TEMPLATE_CACHE_DIR") or Path(app.instance_path) / "cache" / "templates")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only instance folder: templates are compiled in memory as before
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(directory))


class LazyExtensions(dict):
    """``app.extensions`` that sets Flask-Migrate up when something first asks for it.

    Flask-Migrate imports Alembic (about 0.3 s); serving pages never needs it, the ``flask db`` commands and
    ``flask_migrate.upgrade()`` look it up as ``app.extensions['migrate']``, which lands here.
    """

    def __init__(self, app: Flask, existing: dict[str, Any]):
        super().__init__(existing)
        self.app = app

    def __missing__(self, key: str) -> Any:
        if key != "migrate":
            raise KeyError(key)
        from flask_migrate import Migrate

        Migrate(self.app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
        return dict.__getitem__(self, key)


def _register_optional_blueprints(app: Flask) -> None:
    """Register feature blueprints that exist (each feature is its own package)."""
    import importlib

    for name in ("practice", "authoring", "classes", "assignments", "sandbox"):
        try:
            module = importlib.import_module(f"app.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.{name}":
                raise
            continue
        app.register_blueprint(module.bp)


def _register_error_pages(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        def handler(_error):
            return render_template("error.html", code=code, title=title, message=message), code

        return handler

    from app.security import bad_request_page

    app.register_error_handler(400, bad_request_page)
    app.register_error_handler(403, page(403, "没有权限", "你没有权限访问此页面。"))
    app.register_error_handler(404, page(404, "页面不存在", "你要找的页面不存在或已被删除。"))
    app.register_error_handler(405, page(405, "方法不允许", "此页面不接受这种请求。"))
    app.register_error_handler(413, page(413, "文件太大", "上传的文件超过了大小限制。"))
    app.register_error_handler(500, page(500, "服务器错误", "服务器出了点问题，我们会尽快修复。"))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", code=400, title="表单已过期", message="表单已过期或缺少安全令牌，请刷新页面后重试。"), 400


def _register_template_globals(app: Flask) -> None:
    from app.grading import rubric_labels
    from app.keypoints import VERDICTS
    from app.models.practice import CLOSED_BY
    from app.scores import STEP_TEXT, format_score
    from app.zhtext import zh_punct
    from question_bank.schema import ITEM_TYPES, KEY_SOURCES
    from question_bank.seeds import seed_title

    app.jinja_env.filters["score"] = format_score
    app.jinja_env.filters["seed_title"] = seed_title
    app.jinja_env.filters["zh"] = zh_punct
    # the bank's labels are read as Chinese sentences on the pages
    app.jinja_env.globals.update(ITEM_TYPES=ITEM_TYPES, KEY_SOURCES={k: zh_punct(v) for k, v in KEY_SOURCES.items()},
                                 VERDICTS=VERDICTS, rubric_labels=rubric_labels,
                                 CLOSED_BY=CLOSED_BY,
                                 SCORE_STEP=STEP_TEXT,
                                 has_blueprint=lambda name: name in app.blueprints)


@event.listens_for(Engine, "before_cursor_execute")
def _queue_sqlite_writers(conn, cursor, statement, *args) -> None:
    if conn.dialect.name == "sqlite":
        from app.sqlite_writes import before_cursor_execute

        before_cursor_execute(conn, cursor, statement, *args)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Run SQLite in WAL mode with foreign keys and a busy timeout (many students submit at once)."""
    if isinstance(dbapi_connection, sqlite3.Connection):  # (the app's own connections are a subclass)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL is a property of the database file: set once, not by every new connection (setting it again takes a
        # lock that a class's writers may hold, and SQLite answers "database is locked" there without waiting)
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            # (a file busy with other connections was set up, in WAL, before they opened it)
            with contextlib.suppress(dbapi_connection.OperationalError):
                cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
