"""``flask sandbox ...``: create, list, reset, delete and export sandboxes from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import click
import sqlalchemy as sa

from app.extensions import db
from app.models.classes import SchoolClass
from app.models.sandbox import SCENARIOS, Sandbox
from app.sandbox import bp
from app.sandbox import services as svc


class _Bar:
    """A click progress bar that learns its length from the generator's row count."""

    def __init__(self, label: str):
        self.label, self.bar, self.started = label, None, time.perf_counter()

    def __call__(self, table: str, rows: int) -> None:
        if table == "generate":
            click.echo(f"已生成数据（{time.perf_counter() - self.started:.1f} 秒），写入数据库……")
            self.bar = click.progressbar(length=max(rows, 1), label=self.label, show_pos=True)
            self.bar.__enter__()
        elif self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _sandbox(sandbox_id: int) -> Sandbox:
    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is None:
        raise click.ClickException(f"没有编号为 {sandbox_id} 的沙盒")
    return sandbox


@bp.cli.command("create")
@click.option("--class-id", type=int, default=None, help="班级编号（不给则创建不属于班级的演示沙盒）")
@click.option("--customers", type=click.IntRange(50, 2_000_000), default=1500, show_default=True, help="客户数")
@click.option("--months", type=click.IntRange(3, 120), default=24, show_default=True, help="历史月数")
@click.option("--seed", type=int, default=2026, show_default=True, help="随机种子")
@click.option("--scenario", type=click.Choice(list(SCENARIOS)), default="default", show_default=True, help="情景")
@click.option("--name", default="", help="名称")
def create_command(class_id: int | None, customers: int, months: int, seed: int, scenario: str, name: str) -> None:
    """Generate a company and store it as a sandbox (of a class, or standalone)."""
    if class_id is not None and db.session.get(SchoolClass, class_id) is None:
        raise click.ClickException(f"没有编号为 {class_id} 的班级")
    bar = _Bar("写入")
    started = time.perf_counter()
    try:
        sandbox = svc.create_sandbox(class_id=class_id, customers=customers, months=months, seed=seed,
                                     scenario=scenario, name=name, progress=bar)
    finally:
        bar.close()
    counts = ",".join(f"{k} {v}" for k, v in sandbox.counts.items())
    click.echo(f"沙盒 {sandbox.id} 已就绪（{time.perf_counter() - started:.1f} 秒）：{counts}")


@bp.cli.command("list")
def list_command() -> None:
    """List the sandboxes."""
    for s in db.session.scalars(sa.select(Sandbox).order_by(Sandbox.id)):
        owner = f"班级 {s.class_id}" if s.class_id else "演示"
        click.echo(f"{s.id}\t{owner}\t{s.scenario}\t{s.status}\t第{s.version}版\t种子 {s.seed}\t"
                   f"客户 {s.counts.get('customers', 0)} 订单 {s.counts.get('orders', 0)}\t{s.title}")


@bp.cli.command("reset")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("--seed", type=int, default=None, help="新的随机种子（不给则沿用原种子）")
@click.option("--yes", is_flag=True, help="不询问，直接执行")
def reset_command(sandbox_id: int, seed: int | None, yes: bool) -> None:
    """Regenerate a sandbox's data and clear students' actions and campaign runs (segments and attempts stay)."""
    sandbox = _sandbox(sandbox_id)
    if not yes:
        click.confirm(f"重置沙盒 {sandbox.id}（{sandbox.title}）？学生的接触记录、工单处理和营销活动将被清空", abort=True)
    bar = _Bar("重新写入")
    try:
        sandbox = svc.reset_sandbox(sandbox, seed=seed, progress=bar)
    finally:
        bar.close()
    click.echo(f"沙盒 {sandbox.id} 已重置为第 {sandbox.version} 版（种子 {sandbox.seed}）。")


@bp.cli.command("delete")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("--yes", is_flag=True, help="不询问，直接执行")
def delete_command(sandbox_id: int, yes: bool) -> None:
    """Delete a sandbox with its data and everything students did in it."""
    sandbox = _sandbox(sandbox_id)
    if not yes:
        click.confirm(f"删除沙盒 {sandbox.id}（{sandbox.title}）及其全部数据和学生记录？此操作不可撤销", abort=True)
    svc.delete_sandbox(sandbox)
    click.echo(f"沙盒 {sandbox_id} 已删除。")


@bp.cli.command("export")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="输出目录")
def export_command(sandbox_id: int, output: Path) -> None:
    """Export a sandbox's data as CSV files (UTF-8 with BOM) into a directory."""
    from app.sandbox.exports import export_all

    sandbox = _sandbox(sandbox_id)
    if sandbox.status != "ready":
        raise click.ClickException("沙盒尚未就绪")
    counts = export_all(sandbox.id, output)
    for name, n in counts.items():
        click.echo(f"{output / (name + '.csv')}\t{n} 行")
