"""Search: the bigram index (item_bigram, rows in bank order) finds exactly what a plain substring scan finds, in the
same order, on both databases; the editing paths keep it current; a huge match set is counted up to a cap and the
pages say so in Chinese."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Item, ItemSource, Topic
from app.models.bank import item_bigram, item_bigram_count
from tests.test_exam_bell import StatementLog

# Texts no seed holds: Latin in several cases, full-width letters, letters whose case folding is not one-to-one,
# LIKE's wildcards and punctuation.
ODD_TEXTS = ["客户关系管理 CRM 系统与 crm 理念", "ＣＲＭ 全角字母", "Straße und STRASSE", "ΑΣ ΟΔΟΣ σοφός",
             "İstanbul istanbul", "折扣 100% 与 a_b 编码", "「忠诚」、满意！价值？", "Crm 混写 cRM"]
TERMS = ["忠诚", "满意", "价值", "流失", "客户生命周期", "客户关系管理", "数据挖掘", "CRM", "crm", "Crm", "ＣＲＭ", "ｃｒｍ",
         "strasse", "straße", "ΑΣ", "ας", "σοφ", "İstanbul", "istanbul", "100%", "%", "a_b", "_", "「忠诚」", "满意！",
         "客", "M", "客户 忠诚", "CRM 价值", "忠诚 客", "璇玑玉衡", "客户关系管理客户关系管理客户关系管理客户关系管理客户关系管理"]


def _scan(terms: list[str], **filters) -> list[int]:
    """The straightforward search: every term a case-insensitive substring (ILIKE) of the text, in bank order."""
    def ilike(term: str) -> sa.ColumnElement[bool]:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Item.search_text.ilike(f"%{escaped}%", escape="\\")

    stmt = sa.select(Item.id).where(Item.retired.is_(False), Item.exam_only.is_(False), *[ilike(t) for t in terms])
    if filters.get("item_type"):
        stmt = stmt.where(Item.type == filters["item_type"])
    if filters.get("topic") is not None:
        stmt = stmt.where(Item.topics.any(Topic.id == filters["topic"].id))
    if filters.get("seed"):
        stmt = stmt.where(Item.sources.any(ItemSource.seed == filters["seed"]))
    return list(db.session.scalars(stmt.order_by(Item.position, Item.id)))


def _add_odd_items() -> None:
    from app.authoring.services import create_item

    for text in ODD_TEXTS:
        create_item({"type": "short_answer", "stem": text, "answer": "略", "key_source": "instructor"}, None)
    db.session.commit()


def _search(q: str, per_page: int = 20, page: int = 1, **filters):
    from app.bank.services import CappedPagination, item_query

    return CappedPagination(select=item_query(q=q, public=True, **filters), session=db.session(), page=page,
                            per_page=per_page, error_out=False)


@pytest.mark.parametrize("batches", [(256, 8192), (3, 3), (3, 40)])
def test_search_finds_exactly_what_a_substring_scan_finds_in_bank_order(app, monkeypatch, batches):
    from app.bank import services

    # (3, 3): many small batches through the index; (3, 40): batches sized by the share of hits so far
    monkeypatch.setattr(services, "WALK_BATCH", batches[0])
    monkeypatch.setattr(services, "WALK_BATCH_MAX", batches[1])
    with app.app_context():
        _add_odd_items()
        for q in TERMS:
            expected = _scan(q.split())
            found = list(db.session.scalars(services.item_query(q=q, public=True).with_only_columns(Item.id)))
            assert found == expected, q
            for per_page, page in ((20, 1), (7, 2), (5, 4)):
                result = _search(q, per_page=per_page, page=page)
                assert [i.id for i in result.items] == expected[(page - 1) * per_page:page * per_page], (q, page)
                assert result.total == min(len(expected), services.COUNT_CAP) and not result.capped, q
        assert _scan(["CRM"]) and _scan(["ＣＲＭ"]) and _scan(["a_b"]) and not _scan(["璇玑玉衡"])  # the terms test something


def test_search_with_filters_and_the_quiz_picker_condition_match_the_scan(app):
    from app.bank.services import item_query, search_condition

    with app.app_context():
        topic = db.session.scalar(sa.select(Topic).order_by(Topic.position))
        seed = db.session.scalar(sa.select(ItemSource.seed).order_by(ItemSource.seed))
        for q in ("客户", "忠诚", "客户关系管理", "CRM", "客"):
            for filters in ({"item_type": "single_choice"}, {"topic": topic}, {"seed": seed}):
                expected = _scan(q.split(), **filters)
                assert [i.id for i in _search(q, per_page=500, **filters).items] == expected, (q, filters)
            condition = list(db.session.scalars(item_query(public=True).where(search_condition(q))
                                                .with_only_columns(Item.id)))
            assert condition == _scan(q.split()), q


def test_two_character_words_walk_the_bigram_index(app):
    with app.app_context(), StatementLog(app) as log:
        result = _search("忠诚")
    assert result.items and any("item_bigram" in s for s in log.statements)
    assert not any("item_fts" in s for s in log.statements)


def test_the_index_follows_authoring_editing_and_deleting(app):
    from app.authoring.services import create_item, reindex, save_item

    def ids(q: str) -> set[int]:
        return {i.id for i in _search(q, per_page=100).items}

    with app.app_context():
        item = create_item({"type": "short_answer", "stem": "璇玑 是什么？", "answer": "略", "key_source": "instructor"},
                           None)
        db.session.commit()
        assert ids("璇玑") == {item.id}
        data = item.to_dict()
        data["stem"] = "玉衡 是什么？"
        assert save_item(item, data, None)
        db.session.commit()
        assert ids("璇玑") == set() and ids("玉衡") == {item.id}
        other = db.session.scalar(sa.select(Item).where(Item.retired.is_(False)).order_by(Item.id))
        other.search_text += " 天枢"
        reindex(other)
        db.session.commit()
        assert ids("天枢") == {other.id}
        _assert_index_matches_items()
        db.session.delete(item)
        db.session.commit()
        assert ids("玉衡") == set()
        assert not db.session.scalar(sa.select(sa.func.count()).where(item_bigram.c.item_id == item.id))


def test_a_sync_rebuilds_the_index_in_the_new_bank_order(app):
    from app.bank.services import rebuild_search_index

    with app.app_context():
        items = list(db.session.scalars(sa.select(Item).order_by(Item.position)))
        for n, item in enumerate(reversed(items)):
            item.position = n
        db.session.flush()
        rebuild_search_index()
        db.session.commit()
        _assert_index_matches_items()
        assert [i.id for i in _search("忠诚", per_page=500).items] == _scan(["忠诚"])


def _assert_index_matches_items() -> None:
    """Every item's windows are in the index at its position, and the per-window counts are the index's."""
    from app.bank.services import bigrams

    rows = set(db.session.execute(sa.select(item_bigram.c.gram, item_bigram.c.position, item_bigram.c.item_id)))
    wanted = {(g, position, item_id) for item_id, position, text
              in db.session.execute(sa.select(Item.id, Item.position, Item.search_text)) for g in bigrams(text)}
    assert rows == wanted
    counts = dict(db.session.execute(sa.select(item_bigram_count.c.gram, item_bigram_count.c.item_count)
                                     .where(item_bigram_count.c.item_count > 0)).all())
    recount = dict(db.session.execute(sa.select(item_bigram.c.gram, sa.func.count()).group_by(item_bigram.c.gram)).all())
    assert counts == recount


def test_a_huge_match_set_is_counted_only_up_to_the_cap(app, client, monkeypatch):
    from app.bank import services

    with app.app_context():
        matches = len(_scan(["客户"]))
    assert matches > 12
    monkeypatch.setattr(services, "COUNT_CAP", 5)
    app.config["ITEMS_PER_PAGE"] = 4
    page = client.get("/search?q=客户").get_data(as_text=True)
    assert "超过 5 题" in page and "第 1 页 · 超过 5 条" in page and "下一页" in page
    # past the counted pages the results go on, and the pager still leads on while there are more
    page = client.get("/search?q=客户&page=3").get_data(as_text=True)
    assert "第 3 页 · 超过 5 条" in page and "下一页" in page and page.count('class="seed-text"') == 4
    monkeypatch.setattr(services, "COUNT_CAP", 100_000)
    page = client.get("/search?q=客户").get_data(as_text=True)
    assert f"共 {matches} 题" in page and "超过" not in page


def test_no_character_changes_case_to_or_from_a_chinese_character():
    """Why a term of Chinese characters may be matched with LIKE instead of ILIKE (app.bank.services.contains)."""
    import sys
    import unicodedata

    def ideograph(c: str) -> bool:
        return unicodedata.name(c, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))

    changed = [chr(cp) for cp in range(sys.maxunicode + 1)
               if chr(cp).lower() != chr(cp) or chr(cp).upper() != chr(cp) or chr(cp).casefold() != chr(cp)]
    assert len(changed) > 2000
    assert not [c for c in changed if ideograph(c) or any(ideograph(x) for x in c.lower() + c.upper() + c.casefold())]


def test_the_instructor_item_list_searches_through_the_index_with_its_own_filters(app, instructor):
    """The instructor's list (retired items too, key-source and status filters) pages a search with the same walk;
    what it lists is what a substring scan with those filters finds."""
    import re

    with app.app_context():
        retired = db.session.scalar(sa.select(Item).where(Item.search_text.like("%忠诚%"), Item.type == "true_false"))
        retired.retired = True
        retired_uid = retired.uid
        db.session.commit()

        def scan(*extra):
            return list(db.session.scalars(sa.select(Item.uid).where(Item.search_text.like("%忠诚%"), *extra)
                                           .order_by(Item.position, Item.id)))

        wanted = {"": scan(), "&status=retired": scan(Item.retired.is_(True)),
                  "&key=source": scan(Item.key_source == "source")}
    per_page = app.config["ITEMS_PER_PAGE"]
    for query, uids in wanted.items():
        html = instructor.get(f"/manage/?q=忠诚{query}").get_data(as_text=True)
        assert f"共 {len(uids)} 题" in html, query
        shown = list(re.findall(r'/manage/items/([\w-]+)/edit', html))
        assert list(dict.fromkeys(shown))[:per_page] == uids[:per_page], query
    assert wanted["&status=retired"] == [retired_uid]
