"""A background job's row: what to run, who asked, and how far it has got (polled by the progress page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow

JOB_STATUSES = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


class Job(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), index=True)  # a registered job, e.g. "sandbox.build"
    args: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # jobs with the same key do the same work: enqueue() hands back the unfinished one instead of a second copy
    key: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")  # what the progress page calls it (Chinese)
    status: Mapped[str] = mapped_column(sa.String(12), default="queued", index=True)
    done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    message: Mapped[str] = mapped_column(sa.String(200), default="")
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    next_url: Mapped[str] = mapped_column(sa.String(300), default="")  # where the page goes when the job is done
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def fraction(self) -> float:
        if self.status == "done":
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def status_label(self) -> str:
        return JOB_STATUSES.get(self.status, self.status)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "status_label": self.status_label, "done": self.done,
                "total": self.total, "percent": round(self.fraction * 100, 1), "message": self.message,
                "finished": self.finished, "next": self.next_url if self.status == "done" else "",
                "error": self.error if self.status == "failed" else ""}
