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
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.authoring.services import create_item, save_item, topics_by_name
from app.bank.exchange import CATEGORY_ROOT, PARSERS, UNCATEGORISED, export_json
from app.bank.parsed import Attachment, Entry, Skipped
from app.bank.services import content_hash, normalise_content
from app.clock import now
from app.extensions import db
from app.models import Attachment as AttachmentRow
from app.models import Item
from question_bank.load import _ID_RE, _item_problems

EXTENSIONS = {".json": "json", ".gift": "gift", ".txt": "gift", ".xml": "moodle-xml", ".yaml": "yaml", ".yml": "yaml"}
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
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


def store_upload(instance_path: str, user_id: int, filename: str, fmt: str, data: bytes,
                 options: dict[str, Any] | None = None) -> str:
    """Keep an upload for the dry run and the confirm step; uploads older than a day are cleared on the way."""
    folder = _dir(instance_path)
    stale = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        if old.is_file() and old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    (folder / token).write_bytes(data)
    meta = {"user_id": user_id, "filename": safe_name(filename), "format": fmt, **(options or {})}
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
    entry: Entry
    uid: str
    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return self.entry.where

    @property
    def title(self) -> str:
        return self.entry.title

    @property
    def label(self) -> str:
        """How messages name the question: its title (or first words) and where it is in the file."""
        return f"{self.entry.where}「{self.entry.title}」"


@dataclass
class ImportPlan:
    filename: str
    fmt: str
    default_topic: str = UNCATEGORISED
    default_tags: list[str] = field(default_factory=list)
    created: list[PlannedItem] = field(default_factory=list)
    updated: list[PlannedItem] = field(default_factory=list)
    unchanged: list[PlannedItem] = field(default_factory=list)
    refused: list[PlannedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the file's own errors (unreadable parts): nothing is imported
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the confirm step may run: the file was readable and something in it can be imported."""
        return not self.errors and bool(self.created or self.updated or self.unchanged)

    @property
    def rows(self) -> list[PlannedItem]:
        return [*self.created, *self.updated, *self.unchanged]

    def summary(self) -> str:
        return (f"新增 {len(self.created)} 题，更新 {len(self.updated)} 题，未变 {len(self.unchanged)} 题，"
                f"拒绝 {len(self.refused)} 题，跳过 {len(self.skipped)} 题")


def decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _labels(entry: Entry, topic_names: set[str]) -> tuple[list[str], list[str]]:
    """Split an entry's tags and category into topics (labels naming one, or a path ending in one) and tags."""
    topics: list[str] = []
    tags: list[str] = []
    for label in entry.labels:
        segments = [s.strip() for s in label.split("/") if s.strip() and not re.fullmatch(r"\$\w+\$", s.strip())]
        match = next((s for s in reversed(segments) if s in topic_names), None)
        if match:
            topics.append(match)
        elif segments and segments[-1] not in (CATEGORY_ROOT.split("/")[-1], "top", "默认"):
            tags.append(segments[-1])
    return list(dict.fromkeys(topics)), list(dict.fromkeys(tags))


def _prepare(entry: Entry, plan: ImportPlan, topic_names: set[str], author: str, today: date) -> dict[str, Any]:
    """Fill what a file from elsewhere lacks: a bank id, topics, key provenance, the instructor's authorship."""
    data = {k: v for k, v in entry.data.items() if v is not None and v != [] and v != ""}
    if entry.data.get("type") in ("single_choice", "multi_choice", "true_false") and "answer" in entry.data:
        data.setdefault("answer", entry.data["answer"])
    notes = list(data.get("notes") or [])
    topics, tags = _labels(entry, topic_names)
    if not data.get("topics"):
        data["topics"] = topics or [plan.default_topic]
        if not topics:
            notes.append(f"导入自 {plan.filename}：文件中没有专题，归入「{plan.default_topic}」")
    tags = list(dict.fromkeys([*(data.get("tags") or []), *tags, *plan.default_tags]))
    if tags:
        data["tags"] = tags
    original_id = str(data.get("id") or "").strip()
    if not _ID_RE.match(original_id):
        basis = "|".join((original_id or entry.title, str(data.get("type")), str(data.get("stem"))))
        data["id"] = f"s900-imp-{hashlib.sha1(basis.encode('utf-8'), usedforsecurity=False).hexdigest()[:10]}"
        notes.append(f"导入自 {plan.filename}{entry.where}：原题名「{original_id or entry.title}」")
    if "key_source" not in data:
        keyed = data.get("answer") not in (None, "", []) or isinstance(data.get("answer"), bool)
        data["key_source"] = "instructor" if keyed else "none"
    if not data.get("sources") and not data.get("author"):
        data["author"] = {"name": author, "date": today.isoformat()}
        data["references"] = [*(data.get("references") or []), f"导入自文件 {plan.filename}"]
    if notes:
        data["notes"] = list(dict.fromkeys(notes))
    return data


def _differs(item: Item, data: dict[str, Any]) -> bool:
    if content_hash(normalise_content(data)) != item.content_hash:
        return True
    if sorted(t.name for t in item.topics) != sorted(data.get("topics") or []):
        return True
    wanted = [(str(s["seed"]), str(s["section"]), str(s.get("number", ""))) for s in data.get("sources") or []]
    if [(s.seed, s.section, s.number) for s in item.sources] != wanted:
        return True
    mine = item.provenance()
    return any((mine.get(k) or None) != (data.get(k) or None) for k in ("references", "tags"))


def plan_import(text: str, fmt: str, filename: str, default_topic: str | None = None,
                default_tags: list[str] | None = None, author: str = "") -> ImportPlan:
    """Parse and check an upload against the bank without writing anything (the page and the CLI share this)."""
    plan = ImportPlan(filename=filename, fmt=fmt, default_topic=default_topic or UNCATEGORISED,
                      default_tags=list(default_tags or []))
    if "\x00" in text:  # no format carries a NUL byte, and PostgreSQL cannot store one
        plan.errors.append("文件中含有空字符（\\0），无法导入：请检查文件是否损坏或选错了文件")
        return plan
    parsed = PARSERS[fmt](text)
    plan.errors, plan.warnings, plan.skipped = list(parsed.errors), list(parsed.warnings), list(parsed.skipped)
    topic_names = set(topics_by_name())
    if plan.default_topic not in topic_names:
        plan.errors.append(f"默认专题「{plan.default_topic}」不存在")
        return plan
    today = now().date()
    rows = [PlannedItem(entry, "", _prepare(entry, plan, topic_names, author or "导入", today))
            for entry in parsed.entries]
    for row in rows:
        row.uid = str(row.data.get("id"))
    uids = [row.uid for row in rows]
    existing = {i.uid: i for i in db.session.scalars(sa.select(Item).where(Item.uid.in_(uids)))} if uids else {}
    seen: dict[str, PlannedItem] = {}
    for row in rows:
        row.problems = _item_problems(row.data, topic_names, None)
        if row.uid in seen:
            row.problems.append(f"与{seen[row.uid].label}是同一道题（题名、题型和题干都相同）")
        seen.setdefault(row.uid, row)
        item = existing.get(row.uid)
        if row.problems:
            plan.refused.append(row)
        elif item is None:
            plan.created.append(row)
        elif _differs(item, row.data):
            plan.updated.append(row)
        else:
            plan.unchanged.append(row)
    return plan


def apply_import(plan: ImportPlan, user_id: int | None) -> None:
    """Write the importable part of a plan that is ``ok``; the caller commits (or rolls back if anything raises)."""
    if not plan.ok:
        raise ValueError("an unreadable file is not applied")
    for row in [*plan.created, *plan.updated]:
        store_attachments(row.entry.files, user_id)
    for row in plan.created:
        item = create_item(row.data, user_id, origin="import")
        if row.data.get("author"):
            item.author_id = user_id
    if plan.updated:
        items = {i.uid: i for i in db.session.scalars(
            sa.select(Item).where(Item.uid.in_([r.uid for r in plan.updated])))}
        for row in plan.updated:
            save_item(items[row.uid], row.data, user_id)


def store_attachments(files: list[Attachment], user_id: int | None) -> None:
    """Keep the images an item refers to (one row per distinct content)."""
    for f in files:
        exists = db.session.scalar(sa.select(AttachmentRow.id).where(AttachmentRow.sha256 == f.sha256))
        if exists is None:
            db.session.add(AttachmentRow(sha256=f.sha256, filename=f.name, mimetype=f.mimetype, data=f.data,
                                         created_by_id=user_id))
            db.session.flush()


def plan_json(plan: ImportPlan) -> dict[str, Any]:
    """The plan as the CLI prints it with --json: items in the exchange contract, skipped, warnings, errors."""
    items = json.loads(export_json([row.data for row in plan.rows]))["items"]
    warnings = [*plan.warnings, *(f"{row.label}：{w}" for row in plan.rows for w in row.entry.warnings)]
    errors = [*plan.errors, *(f"{row.label}：{p}" for row in plan.refused for p in row.problems)]
    skipped = [s.to_dict() for s in plan.skipped]
    skipped += [{"line": r.entry.line, "title": r.title, "reason": ";".join(r.problems)} for r in plan.refused]
    return {"items": items, "skipped": skipped, "warnings": warnings, "errors": errors}


def plan_lines(plan: ImportPlan) -> list[str]:
    """The dry run as text lines (for the CLI): errors, refused, skipped and warnings, each naming its question."""
    lines = [f"{plan.filename}：{plan.summary()}"]
    lines += [f"错误：{e}" for e in plan.errors]
    lines += [f"拒绝：{row.label}：{p}" for row in plan.refused for p in row.problems]
    lines += [f"跳过：{s.where}「{s.title}」：{s.reason}" for s in plan.skipped]
    lines += [f"提醒：{row.label}：{w}" for row in plan.rows for w in row.entry.warnings]
    return lines
