"""Command-line interface: ``flask bank ...``, ``flask users ...``, ``flask setup``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app, g
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models import Item, User
from app.models.users import ROLES
from question_bank import BANK_DIR, BankError, load_bank

bank_cli = AppGroup("bank", help="题库:校验、同步、导出。")
users_cli = AppGroup("users", help="用户:创建账号、重置密码。")

DEMO_ACCOUNTS = (
    ("demo_teacher", "演示教师", "instructor", "teacher123"),
    ("demo_student", "演示学生", "student", "student123"),
)


BANK_DIR_OPTION = click.option("--bank-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                               default=None, help="题库目录(默认为项目的 question_bank/)")


@bank_cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@BANK_DIR_OPTION
def bank_validate(files: tuple[Path, ...], bank_dir: Path | None) -> None:
    """Validate the bank files (all of question_bank/ by default)."""
    try:
        bank = load_bank(bank_dir or BANK_DIR, paths=list(files) or None)
    except BankError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.ClickException(f"题库无效:{len(exc.problems)} 个问题,未做任何改动") from None
    click.echo(f"题库有效:{len(bank.items)} 题,{len(bank.notes)} 篇阅读材料")


@bank_cli.command("sync")
@BANK_DIR_OPTION
def bank_sync(bank_dir: Path | None) -> None:
    """Load question_bank/ into the database by stable id (idempotent; history is kept)."""
    from app.bank.services import sync_bank

    try:
        bank = load_bank(bank_dir) if bank_dir else load_bank()
    except BankError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.ClickException(f"题库无效:{len(exc.problems)} 个问题,数据库未做任何改动") from None
    report = sync_bank(bank)
    db.session.commit()
    click.echo("题库已同步:" + report.summary())


@bank_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "gift", "moodle-xml", "yaml"]), default="json")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="输出文件(默认标准输出);YAML 格式给一个目录时按题库文件分别写出")
@click.option("--include-retired", is_flag=True, help="包括已停用的题目")
def bank_export(fmt: str, output: Path | None, include_retired: bool) -> None:
    """Export the bank from the database as JSON, GIFT, Moodle XML or question_bank YAML."""
    from app.bank.exchange import EXPORTERS
    from app.bank.services import item_query
    from app.bank.yaml_export import export_yaml

    if fmt == "yaml" and output is not None and output.is_dir():
        from app.authoring.services import yaml_exports

        for name, text in yaml_exports().items():
            (output / name).write_text(text, encoding="utf-8")
            click.echo(f"已写出 {output / name}", err=True)
        return
    items = [i.to_dict() for i in db.session.scalars(item_query(include_retired=include_retired))]
    text = export_yaml(items) if fmt == "yaml" else EXPORTERS[fmt](items)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"已导出 {len(items)} 题到 {output}", err=True)
    else:
        sys.stdout.write(text)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), default="student")
@click.option("--name", "display_name", default="", help="显示名")
@click.password_option(help="密码(不给则交互输入)")
def users_create(username: str, role: str, display_name: str, password: str) -> None:
    """Create an account with a role."""
    if db.session.scalar(sa.select(User).where(User.username == username)):
        raise click.ClickException(f"用户名 {username} 已存在")
    if len(password) < 6:
        raise click.ClickException("密码至少 6 个字符")
    user = User(username=username, role=role, display_name=display_name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"已创建{ROLES[role]} {username}")


@users_cli.command("reset-password")
@click.argument("username")
@click.password_option(help="新密码")
def users_reset_password(username: str, password: str) -> None:
    """Set a new password for an account."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"没有用户 {username}")
    if len(password) < 6:
        raise click.ClickException("密码至少 6 个字符")
    user.set_password(password)
    db.session.commit()
    click.echo(f"已重置 {username} 的密码")


def create_demo_accounts() -> list[str]:
    """Create the demo instructor, class and student; return lines describing the logins."""
    users = {}
    for username, name, role, password in DEMO_ACCOUNTS:
        user = User(username=username, display_name=name, role=role, is_demo=True)
        user.set_password(password)
        db.session.add(user)
        users[role] = (user, password)
    db.session.flush()
    lines = [f"  {ROLES[role]}: 用户名 {u.username} 密码 {pw}" for role, (u, pw) in users.items()]
    hook = current_app.extensions.get("crm_demo_hooks", [])
    for fn in hook:
        lines += fn(users["instructor"][0], users["student"][0])
    return lines


@click.command("setup")
@click.option("--no-demo", is_flag=True, help="不创建演示账号")
def setup_command(no_demo: bool) -> None:
    """Create or migrate the database, load the bank, and (on a new database) create demo accounts."""
    from flask_migrate import upgrade

    from app.bank.services import sync_bank

    upgrade()
    new_database = db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    try:
        bank = load_bank()
    except BankError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.ClickException("题库无效,未加载") from None
    report = sync_bank(bank)
    db.session.commit()
    click.echo("题库已同步:" + report.summary())
    for fn in current_app.extensions.get("crm_setup_hooks", []):
        fn()
    if new_database and not no_demo and not current_app.config.get("SECRET_FROM_ENV"):
        lines = create_demo_accounts()
        db.session.commit()
        click.echo("已创建演示账号(管理员可在后台删除):")
        for line in lines:
            click.echo(line)
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Item))
    click.echo(f"数据库就绪:{n} 道题。")


class MigrationCommands(click.Group):
    """``flask db ...`` (Flask-Migrate), loaded when a migration command runs rather than when the app starts."""

    def _commands(self) -> click.Group:
        from flask_migrate.cli import db as migrate_group

        return migrate_group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._commands().get_command(ctx, cmd_name)


@click.group("db", cls=MigrationCommands)
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@with_appcontext
def migration_cli(directory: str | None, x_arg: tuple[str, ...]) -> None:
    """Perform database migrations."""
    g.directory, g.x_arg = directory, x_arg  # what Flask-Migrate's own group sets for its commands


def register_cli(app: Flask) -> None:
    app.cli.add_command(migration_cli)
    app.cli.add_command(bank_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(setup_command)
