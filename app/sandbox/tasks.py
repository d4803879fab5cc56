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


@jobs.register("sandbox.build")
def build(report: jobs.Report, sandbox_id: int) -> dict[str, Any]:
    """Generate and store a sandbox recorded with status 'building' (a new one, or one just reset)."""
    sandbox = svc.build(_sandbox(sandbox_id).id, report)
    return {"sandbox_id": sandbox.id, "counts": sandbox.counts}


@jobs.register("sandbox.delete")
def delete(report: jobs.Report, sandbox_id: int) -> dict[str, Any]:
    svc.delete_sandbox(_sandbox(sandbox_id), report)
    return {"sandbox_id": sandbox_id}


@jobs.register("sandbox.export")
def export(report: jobs.Report, sandbox_id: int) -> dict[str, Any]:
    """Write the sandbox's CSV files, data dictionary and zip (the downloads page serves them)."""
    from app.sandbox.exports import build_exports

    sandbox = _sandbox(sandbox_id)
    if sandbox.status != "ready":
        raise jobs.JobError("沙盒尚未就绪,不能导出。")
    return {"rows": build_exports(sandbox, report)}
