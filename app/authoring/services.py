"""Authoring domain logic: check, create, edit, retire and key items; export the bank as question_bank YAML.

No request objects here: the routes turn forms into item dicts (the bank's export contract) and call these.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bank.services import apply_item_content, item_query, reindex_item
from app.clock import now
from app.extensions import db
from app.models import Item, ItemSource, Topic, User
from question_bank import BANK_DIR
from question_bank.load import SEEDS_DIR, _item_problems
from question_bank.schema import CHOICE_TYPES, ITEM_TYPES, KEY_SOURCES, KEYED_SOURCES

OPTION_KEYS = "ABCDEFGH"
INSTRUCTOR_FILE = "s900_instructor.yaml"
INSTRUCTOR_TITLE = "教师新增与导入的题目"
TYPE_CODES = {"single_choice": "sc", "multi_choice": "mc", "true_false": "tf", "term_definition": "td",
              "short_answer": "sa", "essay": "es", "case_study": "cs", "fill_blank": "fb"}
_SEED_PREFIX = re.compile(r"^s(\d{3})-")


# ---------------------------------------------------------------- checking an item

def topics_by_name() -> dict[str, Topic]:
    return {t.name: t for t in db.session.scalars(sa.select(Topic).order_by(Topic.position))}


def known_seeds() -> set[str]:
    """Source documents an item may cite: the seed files, and every source already in the bank."""
    names = set(db.session.scalars(sa.select(ItemSource.seed).distinct()))
    if SEEDS_DIR.is_dir():
        names |= {p.name for p in SEEDS_DIR.glob("*.txt")}
    return names


def _has_answer(data: dict[str, Any]) -> bool:
    return data.get("answer") not in (None, "", [])


def check_item(data: dict[str, Any], topic_names: set[str], seeds: set[str] | None = None) -> list[tuple[str, str]]:
    """Return (field, reason) pairs for everything wrong with an item dict; field names follow the form."""
    problems: list[tuple[str, str]] = []
    kind, key_source = data.get("type"), data.get("key_source")
    keyed = key_source in KEYED_SOURCES
    answer = data.get("answer")
    if kind not in ITEM_TYPES:
        problems.append(("type", "请选择题型"))
    if key_source not in KEY_SOURCES:
        problems.append(("key_source", "请选择答案来源"))
    if not str(data.get("stem") or "").strip():
        problems.append(("stem", "请填写题干"))
    if kind in CHOICE_TYPES:
        options = data.get("options") or {}
        if len(options) < 2:
            problems.append(("options", f"{ITEM_TYPES[kind]}至少需要两个选项"))
        if keyed:
            keys = answer if isinstance(answer, list) else []
            if kind == "single_choice" and len(keys) != 1:
                problems.append(("answer", f"单选题必须恰好有一个正确答案，现在选了 {len(keys)} 个"))
            if kind == "multi_choice" and not keys:
                problems.append(("answer", "多选题至少要选择一个正确答案"))
            for key in keys:
                if key not in options:
                    problems.append(("answer", f"答案 {key} 对应的选项为空：答案必须是已填写的选项"))
    elif kind == "true_false":
        if keyed and not isinstance(answer, bool):
            problems.append(("answer", "判断题的答案必须选择“正确”或“错误”"))
    elif kind == "case_study":
        if not data.get("parts"):
            problems.append(("parts", "案例分析题至少需要一个小题（填写小题题干）"))
    elif kind in ITEM_TYPES and keyed and not str(answer or "").strip():
        problems.append(("answer", "请填写参考答案，或把答案来源设为“源文档未给出答案”"))
    if key_source == "none" and _has_answer(data) and kind != "case_study":
        problems.append(("answer", "答案来源为“源文档未给出答案”时不能填写答案"))
    if key_source == "derived" and not str(data.get("explanation") or "").strip():
        problems.append(("explanation", "推导的答案必须在解析中引用支持它的资料段落并注明出处"))
    topics = data.get("topics") or []
    if not topics:
        problems.append(("topics", "请至少选择一个专题"))
    for name in topics:
        if name not in topic_names:
            problems.append(("topics", f"未知专题：{name}"))
    sources = data.get("sources") or []
    if not sources and not data.get("author"):
        problems.append(("sources", "请至少填写一个出处"))
    if not sources and key_source in ("source", "derived", "corrected"):
        problems.append(("key_source", "没有源文档出处的题目，答案来源请选“教师编写”（或“源文档未给出答案”）"))
    if seeds is not None:
        for n, source in enumerate(sources, 1):
            if source.get("seed") not in seeds:
                problems.append(("sources", f"第 {n} 个出处：资料 {source.get('seed')} 不存在"))
    if not problems:
        # the bank's own validator has the last word (it also guards the export contract)
        probe = _without_empty({**data, "id": data.get("id") or "s900-new"})  # a new item gets its id when saved
        problems += [("", reason) for reason in _item_problems(probe, topic_names, None)]
    return problems


def _without_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != ""}


# ---------------------------------------------------------------- writing items

def new_uid(item_type: str) -> str:
    """A fresh stable id for an instructor's item: s900-<type code>-<n>."""
    prefix = f"s900-{TYPE_CODES[item_type]}-"
    taken = set(db.session.scalars(sa.select(Item.uid).where(Item.uid.like(prefix + "%"))))
    n = len(taken) + 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def next_position() -> int:
    return (db.session.scalar(sa.select(sa.func.max(Item.position))) or 0) + 1


def reindex(item: Item) -> None:
    """Refresh one item's rows in the search indexes."""
    db.session.flush()
    reindex_item(item.id, item.search_text)


def create_item(data: dict[str, Any], user_id: int | None, origin: str = "instructor") -> Item:
    """Add an item (version 1) under a new s900 id, or under ``data['id']`` when the caller chose one."""
    uid = data.get("id") or new_uid(data["type"])
    topics = topics_by_name()
    item = Item(uid=uid, origin=origin, seed_file=seed_file_for(uid), position=next_position())
    apply_item_content(item, data, topics, user_id)
    if data.get("author"):
        item.author_id = user_id
    db.session.add(item)
    reindex(item)
    return item


def save_item(item: Item, data: dict[str, Any], user_id: int | None) -> bool:
    """Write an edit; a content change becomes a new version recorded with its author. Return whether anything changed."""
    changed = apply_item_content(item, data, topics_by_name(), user_id)
    if changed:
        reindex(item)
    return changed


def key_source_after_keying(item: Item, answer: Any) -> str:
    """Confirming the key keeps its source; a new or different key is derived (instructor on their own items)."""
    def same(a: Any, b: Any) -> bool:
        return sorted(a) == sorted(b) if isinstance(a, list) and isinstance(b, list) else a == b

    if item.key_source != "none" and same(answer, item.answer):
        return item.key_source
    return "instructor" if item.author_name and not item.sources else "derived"  # an instructor's own item


def key_item(item: Item, answer: Any, explanation: str, user_id: int) -> bool:
    """An instructor keys (or confirms the key of) an item; a new or different key counts as derived.

    Return whether the content changed. The flag set by the statistics is cleared either way.
    """
    data = item.to_dict()
    data.update(answer=answer, explanation=explanation, key_source=key_source_after_keying(item, answer))
    changed = apply_item_content(item, data, topics_by_name(), user_id)
    item.keyed_by_id = user_id
    item.keyed_at = now()
    item.flagged = ""
    if changed:
        reindex(item)
    return changed


def export_text(fmt: str, items: list[dict[str, Any]]) -> str:
    """The bank in an exchange format, with the site's multiple-choice rule (and its images, for Moodle XML)."""
    from flask import current_app

    from app.bank.exchange import EXPORTERS, export_moodle_xml
    from app.models import Attachment

    rule = current_app.config["MULTI_CHOICE_RULE"]
    if fmt == "moodle-xml":
        media = {sha: data for sha, data in db.session.execute(sa.select(Attachment.sha256, Attachment.data))}
        return export_moodle_xml(items, multi_rule=rule, media=media)
    return EXPORTERS[fmt](items, multi_rule=rule)


def item_data(item: Item) -> dict[str, Any]:
    """An item's current content as the export contract (the starting point of an edit)."""
    return item.to_dict()


@dataclass
class VersionRow:
    version: int
    data: dict[str, Any]
    created_at: Any
    author: User | None
    changed: list[str]


FIELD_LABELS = {"type": "题型", "stem": "题干", "options": "选项", "answer": "答案", "key_source": "答案来源",
                "options_source": "选项来源", "explanation": "解析", "correction": "改正", "parts": "小题",
                "blanks": "填空答案", "key_points": "得分要点", "notes": "编辑说明", "source_text": "原文"}


def version_rows(item: Item) -> list[VersionRow]:
    """The item's versions, newest first, each with its author and the fields that changed from the one before."""
    authors = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.id.in_({v.created_by_id for v in item.versions if v.created_by_id})))}
    rows, previous = [], None
    for v in item.versions:
        changed = [label for name, label in FIELD_LABELS.items()
                   if previous is None or (previous.get(name) or None) != (v.data.get(name) or None)]
        rows.append(VersionRow(v.version, v.data, v.created_at, authors.get(v.created_by_id or 0),
                               [] if previous is None else changed))
        previous = v.data
    return rows[::-1]


# ---------------------------------------------------------------- YAML export, one file per seed

def bank_files() -> dict[str, Path]:
    return {p.name: p for p in sorted(BANK_DIR.glob("s[0-9][0-9][0-9]_*.yaml"))}


def seed_file_for(uid: str, files: dict[str, Path] | None = None) -> str:
    """The bank file an item belongs in: its seed's file for s00N ids, else the instructors' file."""
    match = _SEED_PREFIX.match(uid)
    if match:
        prefix = f"s{match.group(1)}_"
        for name in files if files is not None else bank_files():
            if name.startswith(prefix):
                return name
    return INSTRUCTOR_FILE


def _file_header(path: Path | None) -> tuple[str | None, str | None]:
    """The seed and title at the top of a bank file (read from its first lines, not the whole file)."""
    if path is None or not path.exists():
        return None, INSTRUCTOR_TITLE
    import yaml

    head: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("items:"):
                break
            head.append(line)
    data = yaml.safe_load("".join(head)) or {}
    return (str(data["seed"]) if data.get("seed") else None), (str(data["title"]) if data.get("title") else None)


def _file_of(item_uid: str, seed_file: str, files: dict[str, Path]) -> str:
    return seed_file if seed_file in files else seed_file_for(item_uid, files)


def yaml_file_names() -> list[str]:
    """The bank files an export would write (without writing them)."""
    files = bank_files()
    rows = db.session.execute(sa.select(Item.uid, Item.seed_file).where(Item.retired.is_(False))).all()
    return sorted({_file_of(uid, seed_file, files) for uid, seed_file in rows})


def yaml_exports() -> dict[str, str]:
    """The live bank (not retired) as question_bank YAML, one text per bank file, in bank order."""
    from app.bank.yaml_export import export_yaml  # (PyYAML loads when an export is made, not at start-up)

    files = bank_files()
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in db.session.scalars(item_query()):
        groups.setdefault(_file_of(item.uid, item.seed_file, files), []).append(item.to_dict())
    out = {}
    for name in sorted(groups):
        seed, title = _file_header(files.get(name))
        out[name] = export_yaml(groups[name], seed=seed, title=title)
    return out


def yaml_zip(texts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in texts.items():
            archive.writestr(f"question_bank/{name}", text)
    return buffer.getvalue()
