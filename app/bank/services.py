"""Bank domain logic: sync from question_bank/ files, search, queries. No request objects here."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination

from app.extensions import db
from app.models.bank import (
    CONTENT_FIELDS,
    Item,
    ItemSource,
    ItemVersion,
    Note,
    Topic,
    content_hash,
    item_bigram,
    item_bigram_count,
)
from question_bank import Bank

COUNT_CAP = 1000  # search results counted at most this far
BIGRAM_TABLE = "item_bigram"  # (gram, position, item_id): two-character windows of item.search_text
WALK_BATCH = 256  # index rows a search reads at least in one batch
WALK_BATCH_MAX = 8192  # and at most
SEARCH_GRAM = "crm_search_gram"  # execution option of item_query's search select: the window CappedPagination walks
BIGRAM_COUNT_TABLE = "item_bigram_count"  # (gram, item_count): how many items hold each window


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


def _fold(text: str) -> str:
    """Case-fold the way both databases' case-insensitive LIKE can only be coarser than (İ folds to i, as in PostgreSQL)."""
    return (text or "").replace("\u0130", "i").casefold()


def bigrams(text: str) -> set[str]:
    """The two-character windows of a text (case-folded, none spanning a space): what the bigram index keys on.

    Folding maps each character on its own, so a text holding a term (ignoring case) holds all the term's windows.
    """
    text = _fold(text)
    return {text[i:i + 2] for i in range(len(text) - 1) if not (text[i].isspace() or text[i + 1].isspace())}


def _insert_grams(rows: Iterable[tuple[str, int, int]]) -> None:
    """Write (gram, position, item_id) rows in bulk: COPY on PostgreSQL, the driver's executemany on SQLite."""
    raw = db.session.connection().connection.driver_connection
    if _is_sqlite():
        raw.executemany(f"INSERT INTO {BIGRAM_TABLE} (gram, position, item_id) VALUES (?, ?, ?)", rows)
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {BIGRAM_TABLE} (gram, position, item_id) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reindex_item(item_id: int, text: str) -> None:
    """Refresh one item's rows in the bigram index (after an edit; the item must be flushed)."""
    old = set(db.session.scalars(sa.delete(item_bigram).where(item_bigram.c.item_id == item_id)
                                 .returning(item_bigram.c.gram)))
    position = db.session.scalar(sa.select(Item.position).where(Item.id == item_id))
    new = bigrams(text) if position is not None else set()
    if new:
        db.session.execute(sa.insert(item_bigram), [{"gram": gram, "position": position, "item_id": item_id}
                                                    for gram in sorted(new)])
    # sorted, so concurrent edits lock the count rows in one order
    if old - new:
        db.session.execute(sa.update(item_bigram_count).where(item_bigram_count.c.gram.in_(sorted(old - new)))
                           .values(item_count=item_bigram_count.c.item_count - 1))
    for gram in sorted(new - old):
        db.session.execute(sa.text(f"INSERT INTO {BIGRAM_COUNT_TABLE} (gram, item_count) VALUES (:g, 1) ON CONFLICT (gram) "
                                   f"DO UPDATE SET item_count = {BIGRAM_COUNT_TABLE}.item_count + 1"), {"g": gram})


def rebuild_search_index() -> None:
    """Refill the bigram index from item.search_text and item.position (after a sync, which may reorder the bank).

    Each two-character window of an item's text is a row (gram, position, item_id); a word's rows therefore come in
    bank order. Two-character words (忠诚, 满意) are the common case in Chinese and no trigram index serves them.
    """
    if _is_sqlite():
        db.session.execute(sa.delete(item_bigram))
        db.session.execute(sa.delete(item_bigram_count))
    else:
        db.session.execute(sa.text(f"TRUNCATE {BIGRAM_TABLE}, {BIGRAM_COUNT_TABLE}"))
    counts: Counter[str] = Counter()
    items = db.session.execute(sa.select(Item.id, Item.position, Item.search_text)).all()  # before COPY holds the line

    def rows() -> Iterator[tuple[str, int, int]]:
        for item_id, position, text in items:
            grams = bigrams(text)
            counts.update(grams)
            for gram in grams:
                yield gram, position, item_id

    _insert_grams(rows())
    if counts:
        db.session.execute(sa.insert(item_bigram_count), [{"gram": g, "item_count": n} for g, n in counts.items()])


def _ideographs(term: str) -> bool:
    return all(unicodedata.name(c, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))
               for c in term)


def contains(column: Any, term: str) -> sa.ColumnElement[bool]:
    """A case-insensitive substring match with LIKE's wildcards escaped.

    A term of Chinese characters alone is matched with LIKE: no character changes case to or from an ideograph, so
    the matches are ILIKE's, without lower-casing every text first (ILIKE costs PostgreSQL ~10 µs per item).
    """
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if _ideographs(term):
        return column.like(f"%{escaped}%", escape="\\")
    return column.ilike(f"%{escaped}%", escape="\\")


def _terms(query: str) -> list[str]:
    return [t for t in query.split() if t][:8]


def _rarest_gram(terms: list[str]) -> str | None:
    """The two-character window of the query's terms that the fewest items hold (None when no term has two characters).

    Every match holds it, so its index rows (in bank order) are the candidates.
    """
    grams = sorted({gram for term in terms for gram in bigrams(term)})
    if len(grams) <= 1:
        return grams[0] if grams else None
    counts = dict(db.session.execute(sa.select(item_bigram_count.c.gram, item_bigram_count.c.item_count)
                                     .where(item_bigram_count.c.gram.in_(grams))).all())
    return min(grams, key=lambda gram: (counts.get(gram, 0), gram))


def search_condition(query: str) -> sa.ColumnElement[bool]:
    """A WHERE clause on Item matching every whitespace-separated term of the query (case-insensitive substrings).

    The item must hold the query's rarest two-character window (an index probe) and then every term; a query of
    single characters is a substring match alone. item_query(q=...) walks the same index in bank order instead.
    """
    terms = _terms(query)
    likes = [contains(Item.search_text, term) for term in terms]
    gram = _rarest_gram(terms)
    if gram is not None:
        likes.insert(0, sa.exists().where(item_bigram.c.gram == gram, item_bigram.c.position == Item.position,
                                          item_bigram.c.item_id == Item.id))
    return sa.and_(*likes) if likes else sa.true()


def search_notes(query: str, limit: int = 20) -> list[Note]:
    """Reading pages whose title or text holds every whitespace-separated term of the query (case-insensitive)."""
    stmt = sa.select(Note)
    for term in [t for t in query.split() if t][:8]:
        stmt = stmt.where(sa.or_(contains(Note.title, term), contains(Note.body, term)))
    return list(db.session.scalars(stmt.order_by(Note.slug).limit(limit)))


class CappedPagination(SelectPagination):
    """A page of items whose total is counted only up to COUNT_CAP (a huge match set is "超过 1000 题").

    A search select from item_query names its rarest two-character window: the window's index rows are read in bank
    order, a batch at a time, and the select (filters and substring match) keeps those of each batch that match, until
    the page and COUNT_CAP + 1 hits are known. Every step is an index range or primary-key lookup, so neither
    database's planner can turn it into a scan of the whole bank.
    """

    capped = False

    def _hits(self) -> list[int] | None:
        """Matching item ids in bank order, as many as the page and the capped count need (None: not a search)."""
        if not hasattr(self, "_hit_ids"):
            select = self._query_args["select"]
            gram = select.get_execution_options().get(SEARCH_GRAM)
            self._hit_ids = None if gram is None else _walk(self._query_args["session"], select, gram,
                                                            max(COUNT_CAP, self.page * self.per_page) + 1)
        return self._hit_ids

    def _query_items(self) -> list[Any]:
        hits = self._hits()
        if hits is None:
            return super()._query_items()
        wanted = hits[(self.page - 1) * self.per_page:self.page * self.per_page]
        select = self._query_args["select"]
        found = {item.id: item for item in self._query_args["session"].scalars(
            select.where(Item.id.in_(wanted)).order_by(None))}
        return [found[i] for i in wanted if i in found]

    def _query_count(self) -> int:
        hits = self._hits()
        if hits is None:
            select = self._query_args["select"]
            sub = select.options(sa.orm.lazyload("*")).order_by(None).with_only_columns(Item.id).limit(COUNT_CAP + 1)
            total = int(self._query_args["session"].execute(
                sa.select(sa.func.count()).select_from(sub.subquery())).scalar() or 0)
        else:
            total = len(hits)
        self.capped = total > COUNT_CAP
        if self.capped:
            self._more = len(hits or []) > self.page * self.per_page
        return min(total, COUNT_CAP)

    @property
    def has_next(self) -> bool:
        return super().has_next or (self.capped and getattr(self, "_more", False))

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def _one_of(ids: list[int]) -> sa.ColumnElement[bool]:
    """``item.id IN ids`` as one parameter (a JSON list on SQLite, an array on PostgreSQL), not one per id."""
    if _is_sqlite():
        listed = sa.func.json_each(json.dumps(ids)).table_valued("value")
        return Item.id.in_(sa.select(listed.c.value))
    from sqlalchemy.dialects import postgresql  # (0.02 s of imports a SQLite site never needs)

    return Item.id == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))


def _walk(session: Any, select: sa.Select[Any], gram: str, need: int) -> list[int]:
    """Ids of the items ``select`` keeps among those holding ``gram``, in bank order, stopping at ``need``."""
    matching = select.options(sa.orm.lazyload("*")).with_only_columns(Item.id).order_by(None)
    hits: list[int] = []
    read = 0
    after: tuple[int, int] | None = None
    size = min(WALK_BATCH_MAX, max(WALK_BATCH, need + need // 8))  # Chinese words: almost every row is a hit
    while len(hits) < need:
        batch = sa.select(item_bigram.c.position, item_bigram.c.item_id).where(item_bigram.c.gram == gram)
        if after is not None:
            batch = batch.where(sa.tuple_(item_bigram.c.position, item_bigram.c.item_id) > after)
        rows = session.execute(batch.order_by(item_bigram.c.position, item_bigram.c.item_id).limit(size)).all()
        if not rows:
            break
        kept = set(session.scalars(matching.where(_one_of([item_id for _, item_id in rows]))))
        hits += [item_id for _, item_id in rows if item_id in kept]
        read += len(rows)
        if len(rows) < size:
            break
        after = (rows[-1][0], rows[-1][1])
        # the next batch: as many rows as the share of hits so far says the rest needs, and a margin
        share = max(len(hits), 1) / read
        size = min(WALK_BATCH_MAX, max(WALK_BATCH, int((need - len(hits)) / share * 1.25) + 64))
    return hits[:need]


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
        terms = _terms(q)
        stmt = stmt.where(*[contains(Item.search_text, term) for term in terms])
        gram = _rarest_gram(terms)
        if gram is not None:
            # CappedPagination walks this window's index rows in bank order and checks them in batches
            stmt = stmt.execution_options(**{SEARCH_GRAM: gram})
    return stmt.order_by(Item.position, Item.id)


def seed_names() -> list[str]:
    return list(db.session.scalars(sa.select(ItemSource.seed).distinct().order_by(ItemSource.seed)))


def notes_for_topics(topic_names: Iterable[str]) -> list[Note]:
    wanted = set(topic_names)
    return [n for n in db.session.scalars(sa.select(Note).order_by(Note.slug)) if wanted & set(n.topics or [])]
