"""Command-line interface: ``flask bank ...``, ``flask users ...``, ``flask setup``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app, g
from flask.cli import AppGroup, with_appcontext

from app.auth.passwords import password_problem
from app.extensions import db
from app.models import Item, User
from app.models.users import ROLES
from question_bank import BANK_DIR, BankError, load_bank

bank_cli = AppGroup("bank", help="题库：校验、同步、导出、导入。")
users_cli = AppGroup("users", help="用户：创建账号、重置密码。")

DEMO_ACCOUNTS = (
    ("demo_teacher", "演示教师", "instructor", "teacher123"),
    ("demo_student", "演示学生", "student", "student123"),
)


BANK_DIR_OPTION = click.option("--bank-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                               default=None, help="题库目录（默认为项目的 question_bank/）")


@bank_cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@BANK_DIR_OPTION
@click.option("--strict/--no-strict", default=None,
              help="也要求每道源文档题目都有解析、解析来源和评分要点(默认按 question_bank/schema.py 的设置)")
def bank_validate(files: tuple[Path, ...], bank_dir: Path | None, strict: bool | None) -> None:
    """Validate the bank files (all of question_bank/ by default)."""
    from question_bank.schema import REQUIRE_COMPLETE_CONTENT

    try:
        bank = load_bank(bank_dir or BANK_DIR, paths=list(files) or None,
                         strict=REQUIRE_COMPLETE_CONTENT if strict is None else strict)
    except BankError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.ClickException(f"题库无效：{len(exc.problems)} 个问题，未做任何改动") from None
    click.echo(f"题库有效：{len(bank.items)} 题，{len(bank.notes)} 篇阅读材料")


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
        raise click.ClickException(f"题库无效：{len(exc.problems)} 个问题，数据库未做任何改动") from None
    report = sync_bank(bank)
    db.session.commit()
    click.echo("题库已同步：" + report.summary())


@bank_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "gift", "moodle-xml", "yaml"]), default="json")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="输出文件（默认标准输出）；YAML 格式给一个目录时按题库文件分别写出")
@click.option("--include-retired", is_flag=True, help="包括已停用的题目")
def bank_export(fmt: str, output: Path | None, include_retired: bool) -> None:
    """Export the bank from the database as JSON, GIFT, Moodle XML or question_bank YAML."""
    from app.bank.services import item_query
    from app.bank.yaml_export import export_yaml

    if fmt == "yaml" and output is not None and output.is_dir():
        from app.authoring.services import yaml_exports

        for name, text in yaml_exports().items():
            (output / name).write_text(text, encoding="utf-8")
            click.echo(f"已写出 {output / name}", err=True)
        return
    from app.authoring.services import export_text

    items = [i.to_dict() for i in db.session.scalars(item_query(include_retired=include_retired))]
    text = export_yaml(items) if fmt == "yaml" else export_text(fmt, items)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"已导出 {len(items)} 题到 {output}", err=True)
    else:
        sys.stdout.write(text)


@bank_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["gift", "moodle-xml", "json", "yaml"]), default=None,
              help="文件格式（默认按扩展名识别）")
@click.option("--topic", default=None, help="没有专题的题目归入的专题（默认：未分类）")
@click.option("--tag", "tags", multiple=True, help="给导入的题目加的标签（可重复）")
@click.option("--author", default=None, help="记为作者的账号用户名（默认：命令行导入）")
@click.option("--dry-run", is_flag=True, help="只检查，不写入数据库")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出检查结果（items、skipped、warnings、errors）")
def bank_import(file: Path, fmt: str | None, topic: str | None, tags: tuple[str, ...], author: str | None,
                dry_run: bool, as_json: bool) -> None:
    """Import questions from GIFT, Moodle XML, JSON or YAML: the same planner as the import page."""
    import json

    from app.authoring import imports as imp

    fmt = imp.detect_format(file.name, fmt)
    if fmt is None:
        raise click.ClickException("无法从扩展名识别格式，请用 --format 指定（gift、moodle-xml、json、yaml）")
    text = imp.decode(file.read_bytes())
    if text is None:
        raise click.ClickException("文件不是 UTF-8 编码：请另存为 UTF-8 后再导入")
    user = db.session.scalar(sa.select(User).where(User.username == author)) if author else None
    if author and user is None:
        raise click.ClickException(f"没有用户 {author}")
    plan = imp.plan_import(text, fmt, imp.safe_name(file.name), topic, list(tags),
                           author=user.name if user else "命令行导入")
    if as_json:
        click.echo(json.dumps(imp.plan_json(plan), ensure_ascii=False, indent=2))
    else:
        for line in imp.plan_lines(plan):
            click.echo(line, err=True)
    if plan.errors:
        raise click.ClickException("文件有错误，没有导入任何题目")
    if dry_run or not (plan.created or plan.updated):
        click.echo(("检查完成（未写入）：" if dry_run else "没有需要导入的题目：") + plan.summary(), err=True)
        return
    try:
        imp.apply_import(plan, user.id if user else None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo("导入完成：" + plan.summary(), err=True)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), default="student")
@click.option("--name", "display_name", default="", help="显示名")
@click.password_option(help="密码（不给则交互输入）")
def users_create(username: str, role: str, display_name: str, password: str) -> None:
    """Create an account with a role."""
    if User.by_username(username):
        raise click.ClickException(f"用户名 {username} 已存在(用户名不区分大小写)")
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
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
    user = User.by_username(username)
    if user is None:
        raise click.ClickException(f"没有用户 {username}")
    problem = password_problem(password, user.username)
    if problem:
        raise click.ClickException(problem)
    user.set_password(password)  # also ends every session and remember cookie of the account
    db.session.commit()
    click.echo(f"已重置 {user.username} 的密码;该用户所有已登录的会话均已失效")


def create_demo_accounts() -> list[str]:
    """Create the demo instructor, class and student; return lines describing the logins."""
    users = {}
    for username, name, role, password in DEMO_ACCOUNTS:
        user = User(username=username, display_name=name, role=role, is_demo=True)
        user.set_password(password)
        db.session.add(user)
        users[role] = (user, password)
    db.session.flush()
    lines = [f"  {ROLES[role]}：用户名 {u.username} 密码 {pw}" for role, (u, pw) in users.items()]
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
        raise click.ClickException("题库无效，未加载") from None
    report = sync_bank(bank)
    db.session.commit()
    click.echo("题库已同步：" + report.summary())
    for fn in current_app.extensions.get("crm_setup_hooks", []):
        fn()
    if not current_app.config.get("REDIS_URL"):  # jobs run inside the server, which is not running now
        from app import jobs

        _, abandoned = jobs.recover(running_for=0, requeue=False)
        if abandoned:
            click.echo(f"上次停止服务时有 {abandoned} 个后台任务未完成，已标记为中断。")
    if new_database and not no_demo and not current_app.config.get("SECRET_FROM_ENV"):
        lines = create_demo_accounts()
        db.session.commit()
        click.echo("已创建演示账号（管理员可在后台删除）：")
        for line in lines:
            click.echo(line)
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Item))
    click.echo(f"数据库就绪：{n} 道题。")


@click.command("grade")
@click.option("--item", "item_uid", required=True, help="题目编号,如 s000-td-01")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 score、verdict、points")
@with_appcontext
def grade_command(item_uid: str, as_json: bool) -> None:
    """Grade the answer read from standard input against an item, the way the site grades it."""
    import json

    from app.grading import REGISTRY, grade, verdict_of
    from app.keypoints import VERDICTS
    from app.practice.services import version_content

    item = db.session.scalar(sa.select(Item).where(Item.uid == item_uid))
    if item is None:
        raise click.ClickException(f"没有编号为 {item_uid} 的题目")
    if not item.gradable:
        raise click.ClickException(f"{item_uid} 没有答案,不能自动评分")
    kind = REGISTRY[item.type]
    if not kind.auto_graded:
        raise click.ClickException(f"{item_uid} 是{'论述题' if item.type == 'essay' else '案例分析'},由学生按要点自评")
    content = version_content(item)
    text = sys.stdin.read()
    result = grade(content, kind.parse([text], content))
    verdict = verdict_of(result)
    labels = result.detail.get("points") or []
    found = result.detail.get("found") or []
    points = [{"point": p, "found": bool(f)} for p, f in zip(labels, found, strict=False)]
    if as_json:
        click.echo(json.dumps({"score": result.score, "verdict": verdict, "points": points}, ensure_ascii=False))
        return
    click.echo(f"得分 {result.score:.2f} · {VERDICTS.get(verdict or '', verdict)}")
    for point in points:
        click.echo(f"  {'✓' if point['found'] else '✗'} {point['point']}")


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
    app.cli.add_command(grade_command)
    app.cli.add_command(migration_cli)
    app.cli.add_command(bank_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(setup_command)
