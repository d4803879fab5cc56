"""Importing items: upload, dry run with every error's place and reason, atomic confirm, export round trips."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.bank.exchange import gift_escape
from app.extensions import db
from app.models import Item, ItemVersion
from tests.conftest import csrf_token, login, make_user

TOPIC = "客户满意与忠诚"


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Item)),
                db.session.scalar(sa.select(sa.func.count()).select_from(ItemVersion)))


def upload(client, content: str | bytes, filename: str, fmt: str = "", topic: str = "未分类", tags: str = ""):
    """Upload a file; return the dry-run page's URL and HTML (or the upload page's response if refused)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    # encoded here, in memory: the test client would spool a large body to a temporary file it never closes
    boundary, body = encode_multipart({"csrf_token": csrf_token(client, "/manage/import"), "format": fmt,
                                       "topic": topic, "tags": tags,
                                       "file": FileStorage(io.BytesIO(data), filename=filename)})
    response = client.post("/manage/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    if response.status_code != 302:
        return None, response.get_data(as_text=True)
    url = response.headers["Location"]
    return url, client.get(url).get_data(as_text=True)


def confirm(client, review_url: str):
    return client.post(review_url + "/confirm", data={"csrf_token": csrf_token(client, review_url)})


def summary(html: str) -> tuple[int, int, int, int]:
    m = re.search(r"新增 (\d+) 题[,，]更新 (\d+) 题[,，]未变 (\d+) 题[,，]拒绝 (\d+) 题", html)
    assert m, html[:3000]
    return tuple(int(g) for g in m.groups())


def existing(app, **where) -> dict:
    with app.app_context():
        stmt = sa.select(Item).where(Item.retired.is_(False))
        for name, value in where.items():
            stmt = stmt.where(getattr(Item, name) == value)
        return db.session.scalars(stmt.order_by(Item.position)).first().to_dict()


@pytest.mark.parametrize(("fmt", "query", "filename"), [
    ("json", "", "bank.json"),
    ("gift", "", "bank.gift.txt"),
    ("moodle-xml", "", "bank.moodle.xml"),
    ("yaml", "?file=s002_crm_exercises.yaml", "s002_crm_exercises.yaml"),
])
def test_export_then_import_changes_nothing(app, instructor, fmt, query, filename):
    exported = instructor.get(f"/manage/export/{fmt}{query}")
    assert exported.status_code == 200
    before = counts(app)
    url, html = upload(instructor, exported.data, filename)
    assert url, html[:2000]
    created, updated, unchanged, refused = summary(html)
    assert (created, updated, refused) == (0, 0, 0) and unchanged > 0
    assert "确认导入" not in html and "完全相同" in html
    response = confirm(instructor, url)
    assert response.status_code == 302
    assert counts(app) == before


def test_dry_run_lists_what_lands_and_skips_the_rest_then_imports_the_plan(app, instructor):
    target = existing(app, type="single_choice", key_source="source")
    options = "\n\t".join(("=" if k in target["answer"] else "~") + gift_escape(v) for k, v in target["options"].items())
    meta = json.dumps({"key_source": "source", "sources": target["sources"], "topics": target["topics"],
                       "explanation": target["explanation"], "explanation_source": target["explanation_source"]},
                      ensure_ascii=False)  # a seed item keeps its 解析 (the bank's validator requires one)
    gift = (
        f"// [tag:{TOPIC}]\n::新题一::新题：客户满意度取决于什么?{{\n\t=感知与期望之比 # 对\n\t~价格 # 不对\n}}\n\n"
        f"// [id:{target['id']}]\n// crm-meta {meta}\n"
        f"::{target['id']}::{gift_escape(target['stem'])}(改){{\n\t{options}\n}}\n\n"
        "// [tag:第三周]\n::标签题::没有专题的题{\n\t=甲\n\t~乙\n}\n\n"
        "这一段是说明文字\n\n"
        "::数值::Ulysses S. Grant 生于哪一年?{#1822:1}\n"
    )
    lines = gift.split("\n")
    note_line = lines.index("这一段是说明文字") + 1
    numeric_line = lines.index("::数值::Ulysses S. Grant 生于哪一年?{#1822:1}") + 1
    before = counts(app)
    url, html = upload(instructor, gift, "new.gift", topic="客户服务与沟通", tags="2026 春季班")
    assert summary(html) == (2, 1, 0, 0)
    assert "跳过 2 题" in html
    assert f"第 {note_line} 行「这一段是说明文字」：说明文字" in html
    assert f"第 {numeric_line} 行「数值」：数值题（numerical），本站没有这种题型" in html
    assert "✔ A. 感知与期望之比" in html and "A. 感知与期望之比：对" in html  # key marked, feedback shown
    response = confirm(instructor, url)
    assert response.status_code == 302
    items, versions = counts(app)
    assert items == before[0] + 2 and versions == before[1] + 3
    with app.app_context():
        new = db.session.scalars(sa.select(Item).where(Item.origin == "import", Item.stem.like("新题%"))).one()
        assert new.answer == ["A"] and new.key_source == "instructor" and new.sources == []
        assert new.author_name == "Teacher" and new.author_id is not None
        assert new.reference_list == ["导入自文件 new.gift"] and [t.name for t in new.topics] == [TOPIC]
        assert new.tags == ["2026 春季班"]
        tagged = db.session.scalars(sa.select(Item).where(Item.stem == "没有专题的题")).one()
        assert [t.name for t in tagged.topics] == ["客户服务与沟通"] and tagged.tags == ["第三周", "2026 春季班"]
        updated = db.session.scalar(sa.select(Item).where(Item.uid == target["id"]))
        assert updated.version == 2 and updated.stem.endswith("(改)") and updated.author_name == ""
    # the stored upload is gone after the import
    assert instructor.get(url).status_code == 404


def test_refused_questions_are_named_and_the_rest_still_imports(app, instructor):
    doc = {"items": [
        {"type": "single_choice", "stem": "好题", "options": [{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}],
         "answer": ["A"]},
        {"type": "no_such_type", "stem": "坏题"},
    ]}
    before = counts(app)
    url, html = upload(instructor, json.dumps(doc, ensure_ascii=False, indent=1), "mine.json")
    assert summary(html) == (1, 0, 0, 1)
    assert "第 2 个题目「坏题」：未知题型 &#39;no_such_type&#39;" in html
    confirm(instructor, url)
    assert counts(app)[0] == before[0] + 1


def test_json_and_moodle_errors_name_their_place(instructor):
    _, html = upload(instructor, '{"items": [\n  {"id": "s900-x", "type": "single_choice",,}\n]}', "bad.json")
    assert "第 2 行：JSON 无法解析" in html and "确认导入" not in html
    xml = ('<?xml version="1.0"?>\n<quiz>\n<question type="essay"><name><text>论述一</text></name>'
           '<questiontext><text>论述</text></questiontext></question>\n'
           '<question type="matching"><name><text>m</text></name></question>\n</quiz>\n')
    _, html = upload(instructor, xml, "quiz.xml")
    assert "第 4 行「m」：匹配题（matching），本站没有这种题型" in html
    assert summary(html) == (1, 0, 0, 0) and "确认导入" in html


def test_foreign_ids_are_mapped_to_stable_bank_ids(app, instructor):
    gift = f"// [tag:{TOPIC}]\n::Question 1::客户忠诚是什么?{{}}\n"
    url, html = upload(instructor, gift, "moodle.gift")
    assert summary(html) == (1, 0, 0, 0)
    confirm(instructor, url)
    url, html = upload(instructor, gift, "moodle.gift")  # the same file again updates nothing
    assert summary(html) == (0, 0, 1, 0)
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.origin == "import"))
        assert re.fullmatch(r"s900-imp-[0-9a-f]{10}", item.uid) and item.key_source == "none"
        assert any("Question 1" in n for n in item.notes)


def test_upload_problems_are_reported_on_the_form(instructor):
    url, html = upload(instructor, "x", "bank.docx")
    assert url is None and "无法从扩展名识别格式" in html
    url, html = upload(instructor, "[]", "bank.data", fmt="json")  # a chosen format wins over the extension
    assert url and "顶层必须是含 items 列表的对象" in html
    url, html = upload(instructor, "题".encode("gbk"), "bank.json")
    assert url is None and "不是 UTF-8 编码" in html
    url, html = upload(instructor, b"", "bank.json")
    assert url is None and "请选择要导入的文件" in html


def test_an_upload_belongs_to_its_uploader(app, client, instructor):
    url, _ = upload(instructor, json.dumps({"items": []}), "empty.json")
    make_user(app, "other", "instructor")
    other = app.test_client()
    login(other, "other")
    assert other.get(url).status_code == 404
    assert other.get("/manage/import/../../secret_key").status_code == 404
    assert instructor.get("/manage/import/not-a-token").status_code == 404


def test_questions_sharing_a_title_are_told_apart_and_true_duplicates_named_by_title(instructor):
    gift = ("::问题::客户是谁?{}\n\n"
            "::问题::客户为什么流失?{}\n\n"
            "::问题::客户是谁?{}\n")
    url, html = upload(instructor, gift, "dup.gift")
    assert summary(html) == (2, 0, 0, 1)
    assert "第 5 行「问题」：与第 1 行「问题」是同一道题（题名、题型和题干都相同）" in html
    assert "s900-imp-" not in html.split("拒绝 1 题（不会导入）")[1].split("</section>")[0]


def test_a_malformed_rubric_is_refused_with_its_reason_not_a_500(app, instructor):
    item = existing(app, type="term_definition")
    bad = {**item, "id": "s900-imp-rubric", "key_source": "instructor",
           "key_points": [{"point": "要点", "expressions": ["很" * 40], "weight": 7}]}
    before = counts(app)
    _, html = upload(instructor, json.dumps({"items": [bad]}, ensure_ascii=False), "rubric.json")
    assert summary(html)[3] == 1
    assert "超过 30 字" in html and "weight 必须是 1 到 5 的整数" in html
    assert counts(app) == before
