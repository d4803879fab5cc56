"""Search: two-character words are served by the bigram index on both databases and find exactly what a plain
substring scan finds; an edited item is found by its new words."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Item
from tests.test_exam_bell import StatementLog


def _scan(term: str) -> set[int]:
    return {i for i, text in db.session.execute(sa.select(Item.id, Item.search_text).where(Item.retired.is_(False)))
            if term.lower() in (text or "").lower()}


def test_two_character_words_use_the_bigram_index_and_miss_nothing(app, client):
    from app.bank.services import item_query

    for term in ("忠诚", "满意", "客户生命周期", "数据", "rfm"):
        with app.app_context():
            with StatementLog(app) as log:
                found = set(db.session.scalars(item_query(q=term).with_only_columns(Item.id)))
            assert found == _scan(term) and found, term
            if len(term) == 2 or db.engine.dialect.name != "sqlite":
                assert "item_bigram" in log.statements[-1], term
    page = client.get("/search?q=忠诚").get_data(as_text=True)
    assert "忠诚" in page


def test_an_edited_item_is_found_by_its_new_words(app):
    from app.authoring.services import reindex
    from app.bank.services import item_query

    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.retired.is_(False)).order_by(Item.id))
        assert "璇玑" not in item.search_text
        item.search_text += " 璇玑"
        reindex(item)
        db.session.commit()
        assert item.id in set(db.session.scalars(item_query(q="璇玑").with_only_columns(Item.id)))


def test_a_huge_match_set_is_counted_only_up_to_the_cap(app, client, monkeypatch):
    from app.bank import services

    with app.app_context():
        matches = len(_scan("客户"))
    assert matches > 6
    monkeypatch.setattr(services, "COUNT_CAP", 5)
    page = client.get("/search?q=客户").get_data(as_text=True)
    assert "共 5+ 题" in page
    monkeypatch.setattr(services, "COUNT_CAP", 100_000)
    assert f"共 {matches} 题" in client.get("/search?q=客户").get_data(as_text=True)
