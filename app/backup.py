"""``flask backup`` and ``flask restore``: a consistent copy of the live database, and bringing it back.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while students keep
answering; every transaction committed before the copy began is in it. PostgreSQL: ``pg_dump --format=custom``
and ``pg_restore --clean``. Backup files are created 0600 (they hold password hashes and students' answers).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 (pg_dump/pg_restore, with argument lists, never a shell)
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.extensions import db


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise click.ClickException("内存数据库无法备份")
    return Path(url.database)


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    path.chmod(0o600)


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page with the online backup API (a consistent snapshot)."""
    _private_file(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=256, sleep=0.005)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"备份校验失败：{check}")
    finally:
        dst.close()
        src.close()


def restore_sqlite(source: Path, target: Path) -> None:
    """Write a backup over the database through the backup API (so open WAL files stay consistent)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise click.ClickException("备份文件已损坏（integrity_check 未通过），未做任何改动")
        dst = sqlite3.connect(target, timeout=30)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    target.chmod(0o600)


def _pg_args(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--username", url.username or "postgres",
            "--dbname", url.database or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise click.ClickException(f"找不到 {name}：请安装 PostgreSQL 客户端工具（如 apt-get install postgresql-client）")
    return path


def default_backup_path(instance_path: str, postgres: bool) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(instance_path) / "backups" / f"crm-{stamp}.{'pgdump' if postgres else 'sqlite3'}"


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="备份文件（默认 instance/backups/crm-时间.sqlite3 或 .pgdump）")
@with_appcontext
def backup_command(output: Path | None) -> None:
    """Make a consistent copy of the live database (SQLite online backup API, or pg_dump)."""
    url = db.engine.url
    postgres = url.get_backend_name() == "postgresql"
    target = output or default_backup_path(current_app.instance_path, postgres)
    if postgres:
        args, env = _pg_args(url)
        _private_file(target)
        subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],  # noqa: S603
                       check=True, env=env)
    else:
        backup_sqlite(_sqlite_path(url), target)
    click.echo(f"已备份到 {target}({target.stat().st_size // 1024} KB)")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再确认")
@with_appcontext
def restore_command(backup_file: Path, yes: bool) -> None:
    """Replace the database with a backup made by ``flask backup`` (stop the site first)."""
    url = db.engine.url
    if not yes:
        click.confirm(f"用 {backup_file} 覆盖当前数据库 {url.render_as_string(hide_password=True)}？此操作不可撤销",
                      abort=True)
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",  # noqa: S603
                        *args, str(backup_file)], check=True, env=env)
    else:
        restore_sqlite(backup_file, _sqlite_path(url))
    click.echo(f"已从 {backup_file} 恢复数据库")


def register_backup_cli(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
