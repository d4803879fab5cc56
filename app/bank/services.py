"""Bank domain logic: sync from question_bank/ files, search, queries. No request objects here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination

from app.extensions import db
from app.models.bank import CONTENT_FIELDS, Item, ItemSource, ItemVersion, Note, Topic, content_hash
from question_bank import Bank

FTS_TABLE = "item_fts"
COUNT_CAP = 1000  # search results counted at most this far
BIGRAM_TABLE = "item_bigram"  # (gram, item_id): two-character windows of item.search_text


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)
    notes: int = 0

    def summary(self) -> str:
        return (f"新增 {len(self.created)} 题，更新 {len(self.updated)} 题，未变 {self.unchanged} 题，"
                f"停用 {len(self.retired)} 题，阅读材料 {self.notes} 篇")


def item_search_text(data: dict[str, Any]) -> str:
    """Concatenate everything a student might search for: stem, options, answer, explanation, parts."""
    pieces = [data.get("stem") or ""]
    pieces += list((data.get("options") or {}).values())
    answer = data.get("answer")
    if isinstance(answer, str):
        pieces.append(answer)
    pieces.append(data.get("explanation") or "")
    pieces.append(data.get("correction") or "")
    for part in data.get("parts") or []:
        pieces += [part.get("stem", ""), part.get("answer", "") or ""]
    return "\n".join(p for p in pieces if p)


def normalise_content(data: dict[str, Any]) -> dict[str, Any]:
    """Fill absent content fields with their empty values so hashes compare like with like."""
    empty: dict[str, Any] = {"explanation": "", "correction": "", "source_text": "", "options": None, "answer": None,
                             "options_source": None, "parts": None, "blanks": None, "key_points": None, "notes": None,
                             "explanation_source": None, "printed_key": None}
    content = {name: data.get(name, empty.get(name)) for name in CONTENT_FIELDS}
    for name in ("explanation", "correction", "source_text"):
        content[name] = content[name] or ""
    for name in ("parts", "blanks", "key_points", "notes"):
        content[name] = content[name] or None
    if content["type"] in ("single_choice", "multi_choice"):
        content["options_source"] = content["options_source"] or "source"
        content["options"] = {str(k): v for k, v in (content["options"] or {}).items()}
    else:
        content["options_source"] = None
    if content["key_source"] == "none" and content["type"] != "case_study":
        content["answer"] = None
    return content


def apply_item_content(item: Item, data: dict[str, Any], topics_by_name: dict[str, Topic], user_id: int | None = None) -> bool:
    """Write content, topics and sources onto an item; snapshot a new version if the content changed."""
    content = normalise_content(data)
    new_hash = content_hash(content)
    changed = new_hash != item.content_hash
    if changed:
        for name, value in content.items():
            setattr(item, name, value)
        if item.content_hash:
            item.version += 1
        else:
            item.version = 1
        item.content_hash = new_hash
        item.versions.append(ItemVersion(version=item.version, data=content, created_by_id=user_id))
    item.search_text = item_search_text(content)
    wanted_topics = [topics_by_name[name] for name in data.get("topics", []) if name in topics_by_name]
    if {t.id for t in item.topics} != {t.id for t in wanted_topics}:
        item.topics = wanted_topics
        changed = True
    if apply_provenance(item, data):
        changed = True
    wanted_sources = [(str(s["seed"]), str(s["section"]), str(s.get("number", ""))) for s in data.get("sources", [])]
    if [(s.seed, s.section, s.number) for s in item.sources] != wanted_sources:
        item.sources = [ItemSource(seed=seed, section=section, number=number, position=n)
                        for n, (seed, section, number) in enumerate(wanted_sources)]
        changed = True
    return changed


def apply_provenance(item: Item, data: dict[str, Any]) -> bool:
    """Write the instructor-provenance fields (author, references, tags) of the export contract onto an item."""
    author = data.get("author") if isinstance(data.get("author"), dict) else {}
    name = str(author.get("name") or "")[:80]
    when = author.get("date")
    try:
        authored_on = date.fromisoformat(str(when)) if when else None
    except ValueError:
        authored_on = None
    wanted = (name, authored_on if name else None, list(data.get("references") or []) or None,
              list(data.get("tags") or []) or None)
    if (item.author_name, item.authored_on, item.reference_list, item.tags) == wanted:
        return False
    item.author_name, item.authored_on, item.reference_list, item.tags = wanted
    return True


def bank_entry_hash(data: dict[str, Any]) -> str:
    """Fingerprint of an item's entry in question_bank/ (content, topics and sources)."""
    import hashlib
    import json

    blob = {"content": normalise_content(data), "topics": sorted(data.get("topics", [])),
            "sources": data.get("sources", [])}
    for name in ("author", "references", "tags"):  # only instructors' items have them: seed hashes stay as they were
        if data.get(name):
            blob[name] = data[name]
    return hashlib.sha256(json.dumps(blob, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def sync_topics(topics: Iterable[dict[str, str]]) -> dict[str, Topic]:
    existing = {t.slug: t for t in db.session.scalars(sa.select(Topic))}
    for position, data in enumerate(topics):
        topic = existing.get(data["slug"]) or Topic(slug=data["slug"])
        topic.name, topic.description, topic.position = data["name"], data.get("description", ""), position
        db.session.add(topic)
        existing[data["slug"]] = topic
    db.session.flush()
    return {t.name: t for t in existing.values()}


def sync_bank(bank: Bank) -> SyncReport:
    """Load a validated bank into the database by stable id; history that refers to items is kept.

    The caller commits; nothing is written if anything raises.
    """
    report = SyncReport()
    topics_by_name = sync_topics(bank.topics)
    existing = {i.uid: i for i in db.session.scalars(sa.select(Item))}
    file_of = {uid: name for name, uids in bank.files.items() for uid in uids}
    for position, data in enumerate(bank.items):
        item = existing.get(data["id"])
        entry_hash = bank_entry_hash(data)
        if item is None:
            item = Item(uid=data["id"], origin="bank")
            db.session.add(item)
            report.created.append(data["id"])
            apply_item_content(item, data, topics_by_name)
        elif item.bank_hash == entry_hash and not item.retired:
            report.unchanged += 1  # the file did not change this item: keep any edit made in the app
        else:
            if item.keyed_by_id is not None and data.get("key_source") == "none":
                # An instructor keyed this item in the app; the file has not caught up yet: keep their key.
                data = {**data, "key_source": item.key_source, "answer": item.answer}
            was_retired = item.retired
            item.retired = False
            if apply_item_content(item, data, topics_by_name) or was_retired:
                report.updated.append(data["id"])
            else:
                report.unchanged += 1
        item.bank_hash = entry_hash
        item.position = position
        item.seed_file = file_of.get(data["id"], "")
    seen = {d["id"] for d in bank.items}
    for uid, item in existing.items():
        if item.origin == "bank" and uid not in seen and not item.retired:
            item.retired = True
            report.retired.append(uid)
    existing_notes = {n.slug: n for n in db.session.scalars(sa.select(Note))}
    for data in bank.notes:
        note = existing_notes.pop(data["slug"], None) or Note(slug=data["slug"])
        note.title, note.body, note.topics, note.sources = data["title"], data["body"], data["topics"], data["sources"]
        db.session.add(note)
    for note in existing_notes.values():
        db.session.delete(note)
    report.notes = len(bank.notes)
    db.session.flush()
    rebuild_search_index()
    return report


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def bigrams(text: str) -> set[str]:
    """The two-character windows of a text (lower case, none spanning a space): what the bigram index keys on."""
    text = (text or "").lower()
    return {text[i:i + 2] for i in range(len(text) - 1) if not (text[i].isspace() or text[i + 1].isspace())}


def _bigram_table() -> None:
    db.session.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {BIGRAM_TABLE} (gram VARCHAR(2) NOT NULL, "
                               "item_id INTEGER NOT NULL, PRIMARY KEY (gram, item_id))"))


def reindex_item(item_id: int, text: str) -> None:
    """Refresh one item in the search indexes (after an edit)."""
    _bigram_table()
    db.session.execute(sa.text(f"DELETE FROM {BIGRAM_TABLE} WHERE item_id = :id"), {"id": item_id})
    rows = [{"g": gram, "id": item_id} for gram in bigrams(text)]
    if rows:
        db.session.execute(sa.text(f"INSERT INTO {BIGRAM_TABLE} (gram, item_id) VALUES (:g, :id)"), rows)
    if _is_sqlite():
        db.session.execute(sa.text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='trigram')"))
        db.session.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": item_id})
        db.session.execute(sa.text(f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (:id, :body)"),
                           {"id": item_id, "body": text})


def rebuild_search_index() -> None:
    """Refill the search indexes from item.search_text: a bigram table (both databases) and, on SQLite, FTS5 trigrams.

    Two-character words (忠诚, 满意) are the common case in Chinese and no trigram index can serve them; the bigram
    table finds the items holding every two-character window of a term, and the substring match then only checks
    those candidates.
    """
    _bigram_table()
    db.session.execute(sa.text(f"DELETE FROM {BIGRAM_TABLE}"))
    rows = [{"g": gram, "id": item_id} for item_id, text in db.session.execute(sa.select(Item.id, Item.search_text))
            for gram in bigrams(text)]
    for start in range(0, len(rows), 50_000):
        db.session.execute(sa.text(f"INSERT INTO {BIGRAM_TABLE} (gram, item_id) VALUES (:g, :id)"),
                           rows[start:start + 50_000])
    if not _is_sqlite():
        return
    db.session.execute(sa.text(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='trigram')"))
    db.session.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))
    db.session.execute(sa.text(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id, search_text FROM item"))


def contains(column: Any, term: str) -> sa.ColumnElement[bool]:
    """A case-insensitive substring match with LIKE's wildcards escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


_GRAMS = sa.table(BIGRAM_TABLE, sa.column("gram"), sa.column("item_id"))


def search_condition(query: str) -> sa.ColumnElement[bool]:
    """A WHERE clause on Item matching every whitespace-separated term of the query.

    Terms of three or more characters use the FTS5 trigram index on SQLite; terms of two or more characters
    otherwise (PostgreSQL, and 忠诚 on SQLite) use the bigram table; a single character falls back to a substring
    match.
    """
    terms = [t for t in query.split() if t][:8]
    conditions: list[sa.ColumnElement[bool]] = []
    for term in terms:
        like = contains(Item.search_text, term)
        grams = sorted(bigrams(term))
        if _is_sqlite() and len(term) >= 3:
            phrase = '"' + term.replace('"', '""') + '"'
            fts = sa.text(f"item.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q{len(conditions)})")
            conditions.append(fts.bindparams(**{f"q{len(conditions)}": phrase}))
        elif grams:
            # one index probe per bigram and item (semi-joins the planner can stream in page order), then the
            # substring check on the candidates
            probes = [sa.exists().where(_GRAMS.c.gram == gram, _GRAMS.c.item_id == Item.id) for gram in grams[:6]]
            conditions.append(sa.and_(*probes, like))
        else:
            conditions.append(like)
    return sa.and_(*conditions) if conditions else sa.true()


def search_notes(query: str, limit: int = 20) -> list[Note]:
    """Reading pages whose title or text holds every whitespace-separated term of the query (case-insensitive)."""
    stmt = sa.select(Note)
    for term in [t for t in query.split() if t][:8]:
        stmt = stmt.where(sa.or_(contains(Note.title, term), contains(Note.body, term)))
    return list(db.session.scalars(stmt.order_by(Note.slug).limit(limit)))
class CappedPagination(SelectPagination):
    """A page of search results whose total is counted only up to COUNT_CAP (a huge match set is "1000+")."""

    capped = False

    def _query_count(self) -> int:
        select = self._query_args["select"]
        sub = select.options(sa.orm.lazyload("*")).order_by(None).with_only_columns(Item.id).limit(COUNT_CAP + 1)
        total = self._query_args["session"].execute(sa.select(sa.func.count()).select_from(sub.subquery())).scalar()
        self.capped = (total or 0) > COUNT_CAP
        return min(int(total or 0), COUNT_CAP)


def item_query(*, item_type: str | None = None, topic: Topic | None = None, seed: str | None = None,
               q: str | None = None, include_retired: bool = False, public: bool = False) -> sa.Select[tuple[Item]]:
    """Select items by type, topic, source seed and search text, in bank order (public: without 考试专用 items)."""
    stmt = sa.select(Item)
    if public:
        stmt = stmt.where(Item.exam_only.is_(False))
    if not include_retired:
        stmt = stmt.where(Item.retired.is_(False))
    if item_type:
        stmt = stmt.where(Item.type == item_type)
    if topic is not None:
        stmt = stmt.where(Item.topics.any(Topic.id == topic.id))
    if seed:
        stmt = stmt.where(Item.sources.any(ItemSource.seed == seed))
    if q:
        stmt = stmt.where(search_condition(q))
    return stmt.order_by(Item.position, Item.id)


def seed_names() -> list[str]:
    return list(db.session.scalars(sa.select(ItemSource.seed).distinct().order_by(ItemSource.seed)))


def notes_for_topics(topic_names: Iterable[str]) -> list[Note]:
    wanted = set(topic_names)
    return [n for n in db.session.scalars(sa.select(Note).order_by(Note.slug)) if wanted & set(n.topics or [])]
