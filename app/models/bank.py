"""The question bank in the database: items (with versions), their sources and topics, reading notes."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

item_topics = sa.Table(
    "item_topics",
    db.metadata,
    sa.Column("item_id", sa.ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# The search index of two-character windows (see app.bank.services.bigrams): one row per window and item, with the
# item's position so a word's rows come in bank order and the first page of results is an index walk that stops early.
# Maintained by the bank's sync and editing paths (rebuild_search_index, reindex_item), not by hand.
item_bigram = sa.Table(
    "item_bigram",
    db.metadata,
    sa.Column("gram", sa.String(2), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("item_id", sa.ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.PrimaryKeyConstraint("gram", "position", "item_id"),
    sqlite_with_rowid=False,
)
# How many items hold each window: a search walks the rows of its rarest window. Only a choice of speed rests on
# it (results are always checked against the text), so an estimate that lags an edit costs time, never a result.
item_bigram_count = sa.Table(
    "item_bigram_count",
    db.metadata,
    sa.Column("gram", sa.String(2), primary_key=True),
    sa.Column("item_count", sa.Integer, nullable=False),
)

# The fields of an item that make up its content (a change in any of them is a new version).
CONTENT_FIELDS = (
    "type", "stem", "options", "answer", "key_source", "options_source", "explanation", "correction",
    "parts", "blanks", "key_points", "notes", "source_text", "explanation_source", "printed_key",
)
# Content fields added after items were first versioned: left out of the hash while empty, so adding them does
# not make a new version of every item.
LATER_FIELDS = ("explanation_source", "printed_key")


class Topic(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)


class Item(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True)  # the stable id from question_bank/
    type: Mapped[str] = mapped_column(sa.String(24), index=True)
    stem: Mapped[str] = mapped_column(sa.Text)
    options: Mapped[dict | None] = mapped_column(sa.JSON)  # {"A": "...", ...}
    answer: Mapped[Any] = mapped_column(sa.JSON)  # list of keys | bool | str | None
    key_source: Mapped[str] = mapped_column(sa.String(12), index=True)
    options_source: Mapped[str | None] = mapped_column(sa.String(12))
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    explanation_source: Mapped[str | None] = mapped_column(sa.String(12))  # seed | authored
    printed_key: Mapped[Any] = mapped_column(sa.JSON, nullable=True)  # key_source corrected: the key the seed printed
    correction: Mapped[str] = mapped_column(sa.Text, default="")
    parts: Mapped[list | None] = mapped_column(sa.JSON)
    blanks: Mapped[list | None] = mapped_column(sa.JSON)
    key_points: Mapped[list | None] = mapped_column(sa.JSON)
    notes: Mapped[list | None] = mapped_column(sa.JSON)
    source_text: Mapped[str] = mapped_column(sa.Text, default="")
    seed_file: Mapped[str] = mapped_column(sa.String(80), default="", index=True)  # the bank file it lives in
    position: Mapped[int] = mapped_column(default=0, index=True)  # order within the bank (顺序练习)
    version: Mapped[int] = mapped_column(default=1)
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    # hash of the item as question_bank/ last gave it: a sync only rewrites items whose file entry changed,
    # so edits made in the app survive until the repository's bank changes that item
    bank_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    origin: Mapped[str] = mapped_column(sa.String(16), default="bank")  # bank | instructor | import
    retired: Mapped[bool] = mapped_column(default=False, index=True)
    # 考试专用: kept out of the public bank, search, practice and mock exams; only instructors' quizzes use it
    exam_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    keyed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    keyed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    flagged: Mapped[str] = mapped_column(sa.String(200), default="")  # why statistics flag it as possibly miskeyed
    # Provenance of an instructor's own item (written in the app or imported): who wrote it and when. Such an
    # item needs no seed source; ``reference_list`` holds free-text sources (讲义, 教材页码) and ``tags`` the
    # labels that are not topics (e.g. a Moodle category that matches no topic). Not versioned content.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(sa.String(80), default="")
    authored_on: Mapped[date | None] = mapped_column(sa.Date)
    reference_list: Mapped[list | None] = mapped_column(sa.JSON)
    tags: Mapped[list | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=item_topics, order_by=Topic.position, lazy="selectin")
    sources: Mapped[list[ItemSource]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemSource.position", lazy="selectin"
    )
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemVersion.version"
    )

    @property
    def gradable(self) -> bool:
        """Whether the item can be graded in practice (it has a key)."""
        return self.key_source != "none" and not self.retired

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The item in the bank's export contract (see question_bank/FORMAT.md)."""
        data: dict[str, Any] = {"id": self.uid, **self.content()}
        data["topics"] = [t.name for t in self.topics]
        data["sources"] = [s.to_dict() for s in self.sources]
        data.update(self.provenance())
        return data

    def provenance(self) -> dict[str, Any]:
        """The instructor-provenance fields of the export contract (empty for items from the seeds)."""
        out: dict[str, Any] = {}
        if self.author_name:
            out["author"] = {"name": self.author_name,
                             "date": self.authored_on.isoformat() if self.authored_on else None}
        if self.reference_list:
            out["references"] = list(self.reference_list)
        if self.tags:
            out["tags"] = list(self.tags)
        return out


def content_hash(content: dict[str, Any]) -> str:
    blob = json.dumps({k: content.get(k) for k in CONTENT_FIELDS
                       if k not in LATER_FIELDS or content.get(k) is not None}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ItemSource(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    seed: Mapped[str] = mapped_column(sa.String(80), index=True)
    section: Mapped[str] = mapped_column(sa.String(200))
    number: Mapped[str] = mapped_column(sa.String(40), default="")
    position: Mapped[int] = mapped_column(default=0)
    item: Mapped[Item] = relationship(back_populates="sources")

    def to_dict(self) -> dict[str, Any]:
        number: int | str = int(self.number) if self.number.isdigit() else self.number
        return {"seed": self.seed, "section": self.section, "number": number}


class ItemVersion(db.Model):
    """A snapshot of an item's content; attempts point at the version the student saw."""

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    data: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    item: Mapped[Item] = relationship(back_populates="versions")

    __table_args__ = (sa.UniqueConstraint("item_id", "version"),)


class Note(db.Model):
    """A reading page (study notes / articles from the seeds)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    topics: Mapped[list] = mapped_column(sa.JSON, default=list)
    sources: Mapped[list] = mapped_column(sa.JSON, default=list)


class Attachment(db.Model):
    """A file an item's text refers to (an image carried in from a Moodle XML upload), served at /media/<sha256>/."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    mimetype: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
