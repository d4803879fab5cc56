"""``flask sandbox ...``: create, list, reset, delete and export sandboxes from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import click
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.models.classes import SchoolClass
from app.models.jobs import Job
from app.models.sandbox import SCENARIOS, Sandbox
from app.sandbox import bp, tasks  # noqa: F401  (tasks registers the sandbox's jobs)
from app.sandbox import services as svc


class _Bar:
    """The job's progress as a click progress bar (the same done/total the progress page shows)."""

    def __init__(self, label: str):
        self.label, self.bar, self.shown = label, None, 0
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.bar is None and total:
            self.bar = click.progressbar(length=total, label=self.label, show_percent=True,
                                         item_show_func=lambda _item: self.message)
            self.bar.__enter__()
        self.message = message
        if self.bar is not None and done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    message = ""

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _run(name: str, label: str, **args) -> Job:
    """Run a sandbox job here with a progress bar; a failed job ends the command with its message."""
    bar = _Bar(label)
    try:
        job = jobs.run_inline(name, bar, **args)
    finally:
        bar.close()
    if job.status != "done":
        raise click.ClickException(job.message or "任务失败")
    return job


def _sandbox(sandbox_id: int) -> Sandbox:
    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is None:
        raise click.ClickException(f"没有编号为 {sandbox_id} 的沙盒")
    return sandbox


@bp.cli.command("create")
@click.option("--class-id", type=int, default=None, help="班级编号(不给则创建不属于班级的演示沙盒)")
@click.option("--customers", type=click.IntRange(50, 2_000_000), default=1500, show_default=True, help="客户数")
@click.option("--months", type=click.IntRange(3, 120), default=24, show_default=True, help="历史月数")
@click.option("--seed", type=int, default=2026, show_default=True, help="随机种子")
@click.option("--scenario", type=click.Choice(list(SCENARIOS)), default="default", show_default=True, help="情景")
@click.option("--name", default="", help="名称")
def create_command(class_id: int | None, customers: int, months: int, seed: int, scenario: str, name: str) -> None:
    """Generate a company and store it as a sandbox (of a class, or standalone)."""
    if class_id is not None and db.session.get(SchoolClass, class_id) is None:
        raise click.ClickException(f"没有编号为 {class_id} 的班级")
    started = time.perf_counter()
    sandbox = svc.new_sandbox(class_id=class_id, customers=customers, months=months, seed=seed, scenario=scenario,
                              name=name)
    _run("sandbox.build", "生成", sandbox_id=sandbox.id, title=f"生成沙盒 {sandbox.id}")
    sandbox = _sandbox(sandbox.id)
    counts = ",".join(f"{k} {v}" for k, v in sandbox.counts.items())
    click.echo(f"沙盒 {sandbox.id} 已就绪({time.perf_counter() - started:.1f} 秒):{counts}")


@bp.cli.command("list")
def list_command() -> None:
    """List the sandboxes."""
    for s in db.session.scalars(sa.select(Sandbox).order_by(Sandbox.id)):
        owner = f"班级 {s.class_id}" if s.class_id else "演示"
        click.echo(f"{s.id}\t{owner}\t{s.scenario}\t{s.status}\t第{s.version}版\t种子 {s.seed}\t"
                   f"客户 {s.counts.get('customers', 0)} 订单 {s.counts.get('orders', 0)}\t{s.title}")


@bp.cli.command("reset")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("--seed", type=int, default=None, help="新的随机种子(不给则沿用原种子)")
@click.option("--yes", is_flag=True, help="不询问,直接执行")
def reset_command(sandbox_id: int, seed: int | None, yes: bool) -> None:
    """Regenerate a sandbox's data and clear students' actions and campaign runs (segments and attempts stay)."""
    sandbox = _sandbox(sandbox_id)
    if not yes:
        click.confirm(f"重置沙盒 {sandbox.id}({sandbox.title})?学生的接触记录、工单处理和营销活动将被清空", abort=True)
    svc.start_reset(sandbox, seed=seed)
    _run("sandbox.build", "重新生成", sandbox_id=sandbox.id, title=f"重置沙盒 {sandbox.id}")
    sandbox = _sandbox(sandbox_id)
    click.echo(f"沙盒 {sandbox.id} 已重置为第 {sandbox.version} 版(种子 {sandbox.seed})。")


@bp.cli.command("delete")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("--yes", is_flag=True, help="不询问,直接执行")
def delete_command(sandbox_id: int, yes: bool) -> None:
    """Delete a sandbox with its data and everything students did in it."""
    sandbox = _sandbox(sandbox_id)
    if not yes:
        click.confirm(f"删除沙盒 {sandbox.id}({sandbox.title})及其全部数据和学生记录?此操作不可撤销", abort=True)
    _run("sandbox.delete", "删除", sandbox_id=sandbox.id, title=f"删除沙盒 {sandbox.id}")
    click.echo(f"沙盒 {sandbox_id} 已删除。")


@bp.cli.command("export")
@click.option("--sandbox-id", type=int, required=True, help="沙盒编号")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="输出目录")
def export_command(sandbox_id: int, output: Path) -> None:
    """Export a sandbox's data as CSV files (UTF-8 with BOM), a data dictionary and a zip, into a directory."""
    import shutil

    from app.sandbox.exports import DICTIONARY_NAME, EXPORTS, ZIP_NAME, export_dir

    sandbox = _sandbox(sandbox_id)
    if sandbox.status != "ready":
        raise click.ClickException("沙盒尚未就绪")
    started = time.perf_counter()
    job = _run("sandbox.export", "导出", sandbox_id=sandbox.id, title=f"导出沙盒 {sandbox.id}")
    output.mkdir(parents=True, exist_ok=True)
    for name in (*[f"{n}.csv" for n in EXPORTS], DICTIONARY_NAME, ZIP_NAME):
        shutil.copyfile(export_dir(sandbox) / name, output / name)
    for name, n in job.result["rows"].items():
        click.echo(f"{output / (name + '.csv')}\t{n} 行")
    click.echo(f"数据字典 {output / DICTIONARY_NAME};全部打包 {output / ZIP_NAME}({time.perf_counter() - started:.1f} 秒)")
