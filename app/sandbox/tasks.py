"""The sandbox's background jobs (``app.jobs``): build (create and reset), delete, export."""

from __future__ import annotations

from typing import Any

from app import jobs
from app.extensions import db
from app.models.sandbox import Sandbox
from app.sandbox import services as svc


def _sandbox(sandbox_id: int) -> Sandbox:
    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is None:
        raise jobs.JobError("沙盒已不存在。")
    return sandbox


def _build_abandoned(sandbox_id: int) -> None:
    """A build whose process died: the sandbox is failed (its page offers a reset), not 'building' for ever."""
    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is not None and sandbox.status == "building":
        sandbox.status = "failed"


@jobs.register("sandbox.build", on_abandon=_build_abandoned)
def build(report: jobs.Report, sandbox_id: int) -> dict[str, Any]:
    """Generate and store a sandbox recorded with status 'building' (a new one, or one just reset)."""
    sandbox = svc.build(_sandbox(sandbox_id).id, report)
    return {"sandbox_id": sandbox.id, "counts": sandbox.counts}


@jobs.register("sandbox.delete")
def delete(report: jobs.Report, sandbox_id: int) -> dict[str, Any]:
    svc.delete_sandbox(_sandbox(sandbox_id), report)
    return {"sandbox_id": sandbox_id}


@jobs.register("sandbox.export")
def export(report: jobs.Report, sandbox_id: int, force: bool = False) -> dict[str, Any]:
    """Write the sandbox's CSV files, data dictionary and zip (the downloads page serves them)."""
    from app.sandbox.exports import build_exports, exports_ready

    sandbox = _sandbox(sandbox_id)
    if sandbox.status != "ready":
        raise jobs.JobError("沙盒尚未就绪，不能导出。")
    if exports_ready(sandbox) and not force:  # another student's request built them a moment ago
        report(1, 1, "下载文件已准备好。")
        return {"rows": {}}
    return {"rows": build_exports(sandbox, report)}
