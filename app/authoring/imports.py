"""Importing items from GIFT, Moodle XML, JSON or YAML: store the upload, plan (dry run), then apply atomically.

The upload is kept in ``instance/imports/<token>`` (with a small JSON side file naming its owner), not in the
session: the confirm step parses the same bytes again, so what is imported is what the dry run showed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.authoring.services import create_item, save_item, topics_by_name
from app.bank.exchange import PARSERS
from app.bank.services import content_hash, normalise_content
from app.extensions import db
from app.models import Item
from question_bank.load import _ID_RE, _item_problems

EXTENSIONS = {".json": "json", ".gift": "gift", ".txt": "gift", ".xml": "moodle-xml", ".yaml": "yaml", ".yml": "yaml"}
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
IMPORT_SECTION = "导入"
KEEP_SECONDS = 24 * 3600


def detect_format(filename: str, chosen: str | None) -> str | None:
    if chosen in PARSERS:
        return chosen
    return EXTENSIONS.get(Path(filename).suffix.lower())


def safe_name(filename: str) -> str:
    """The uploaded file's base name, stripped of directories and odd characters (it becomes a source name)."""
    name = Path(filename.replace("\\", "/")).name
    name = re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", name).strip("._")
    return name[:80] or "upload"


# ---------------------------------------------------------------- the stored upload

def _dir(instance_path: str) -> Path:
    path = Path(instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(instance_path: str, user_id: int, filename: str, fmt: str, data: bytes) -> str:
    """Keep an upload for the dry run and the confirm step; uploads older than a day are cleared on the way."""
    folder = _dir(instance_path)
    stale = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        if old.is_file() and old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    (folder / token).write_bytes(data)
    meta = {"user_id": user_id, "filename": safe_name(filename), "format": fmt}
    (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def load_upload(instance_path: str, token: str, user_id: int) -> tuple[dict[str, Any], bytes] | None:
    """The stored upload and its description, if the token is well-formed and belongs to this user."""
    if not _TOKEN_RE.match(token):
        return None
    folder = _dir(instance_path)
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / token).read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user_id") != user_id:
        return None
    return meta, data


def discard_upload(instance_path: str, token: str) -> None:
    if _TOKEN_RE.match(token):
        for path in (_dir(instance_path) / token, _dir(instance_path) / f"{token}.json"):
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- plan and apply

@dataclass
class PlannedItem:
    where: str  # line or element in the upload
    uid: str
    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    filename: str
    fmt: str
    created: list[PlannedItem] = field(default_factory=list)
    updated: list[PlannedItem] = field(default_factory=list)
    unchanged: list[PlannedItem] = field(default_factory=list)
    refused: list[PlannedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the file's own errors (unparsable parts)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.refused and bool(self.created or self.updated or self.unchanged)

    def summary(self) -> str:
        return (f"新增 {len(self.created)} 题,更新 {len(self.updated)} 题,未变 {len(self.unchanged)} 题,"
                f"拒绝 {len(self.refused)} 题")


def decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _prepare(raw: dict[str, Any], filename: str, n: int) -> dict[str, Any]:
    """Fill what a file from elsewhere may lack: a bank id, key provenance, sources (each filling noted)."""
    data = {k: v for k, v in raw.items() if v is not None and v != [] and v != ""}
    notes = list(data.get("notes") or [])
    original_id = str(data.get("id") or "").strip()
    if not _ID_RE.match(original_id):
        digest = hashlib.sha1(original_id.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
        data["id"] = f"s900-imp-{digest}"
        notes.append(f"导入自 {filename}:原编号 {original_id or '(无)'} 不符合题库编号格式,改为 {data['id']}")
    if "key_source" not in data:
        keyed = data.get("answer") not in (None, "", []) or data.get("type") == "true_false" and "answer" in data
        data["key_source"] = "source" if keyed else "none"
        notes.append(f"导入自 {filename}:答案{'取自导入文件' if keyed else '缺失,不参与自动评分'}")
    if not data.get("sources"):
        data["sources"] = [{"seed": filename, "section": IMPORT_SECTION, "number": n}]
        notes.append(f"导入自 {filename} 第 {n} 题:原文件没有出处信息")
    if notes:
        data["notes"] = notes
    return data


def _differs(item: Item, data: dict[str, Any]) -> bool:
    if content_hash(normalise_content(data)) != item.content_hash:
        return True
    if sorted(t.name for t in item.topics) != sorted(data.get("topics") or []):
        return True
    wanted = [(str(s["seed"]), str(s["section"]), str(s.get("number", ""))) for s in data.get("sources") or []]
    return [(s.seed, s.section, s.number) for s in item.sources] != wanted


def plan_import(text: str, fmt: str, filename: str) -> ImportPlan:
    """Parse and validate an upload against the bank without writing anything."""
    plan = ImportPlan(filename=filename, fmt=fmt)
    if "\x00" in text:  # no format carries a NUL byte, and PostgreSQL cannot store one
        plan.errors.append("文件中含有空字符(\\0),无法导入:请检查文件是否损坏或选错了文件")
        return plan
    parsed = PARSERS[fmt](text)
    plan.errors = list(parsed.errors)
    topic_names = set(topics_by_name())
    prepared = [_prepare(raw, filename, n) for n, raw in enumerate(parsed.items, 1)]
    uids = [str(data.get("id")) for data in prepared]
    existing = {i.uid: i for i in db.session.scalars(sa.select(Item).where(Item.uid.in_(uids)))} if uids else {}
    seen: dict[str, str] = {}
    for data, where in zip(prepared, parsed.locations, strict=True):
        row = PlannedItem(where=where, uid=str(data.get("id")), data=data)
        row.problems = _item_problems(data, topic_names, None)
        if row.uid in seen:
            row.problems.append(f"编号 {row.uid} 在文件中重复(已见于{seen[row.uid]})")
        seen.setdefault(row.uid, where)
        item = existing.get(row.uid)
        if row.problems:
            plan.refused.append(row)
        elif item is None:
            plan.created.append(row)
        elif _differs(item, data):
            plan.updated.append(row)
        else:
            plan.unchanged.append(row)
    return plan


def apply_import(plan: ImportPlan, user_id: int) -> None:
    """Write a plan that is ``ok``; the caller commits (or rolls back if anything raises)."""
    if not plan.ok:
        raise ValueError("an import with errors is not applied")
    for row in plan.created:
        create_item(row.data, user_id, origin="import")
    if plan.updated:
        items = {i.uid: i for i in db.session.scalars(
            sa.select(Item).where(Item.uid.in_([r.uid for r in plan.updated])))}
        for row in plan.updated:
            save_item(items[row.uid], row.data, user_id)
