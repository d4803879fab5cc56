"""Importing items: upload, dry run with every error's place and reason, atomic confirm, export round trips."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from app.bank.exchange import gift_escape
from app.extensions import db
from app.models import Item, ItemVersion
from tests.conftest import csrf_token, login, make_user

TOPIC = "客户满意与忠诚"


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Item)),
                db.session.scalar(sa.select(sa.func.count()).select_from(ItemVersion)))


def upload(client, content: str | bytes, filename: str, fmt: str = ""):
    """Upload a file; return the dry-run page's URL and HTML (or the upload page's response if refused)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    response = client.post("/manage/import", data={"csrf_token": csrf_token(client, "/manage/import"), "format": fmt,
                                                    "file": (io.BytesIO(data), filename)},
                           content_type="multipart/form-data")
    if response.status_code != 302:
        return None, response.get_data(as_text=True)
    url = response.headers["Location"]
    return url, client.get(url).get_data(as_text=True)


def confirm(client, review_url: str):
    return client.post(review_url + "/confirm", data={"csrf_token": csrf_token(client, review_url)})


def summary(html: str) -> tuple[int, int, int, int]:
    m = re.search(r"新增 (\d+) 题，更新 (\d+) 题，未变 (\d+) 题，拒绝 (\d+) 题", html)
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


def test_dry_run_lists_created_updated_and_refused_then_imports_nothing(app, instructor):
    target = existing(app, type="single_choice", key_source="source")
    options = "\n\t".join(("=" if k in target["answer"] else "~") + gift_escape(v) for k, v in target["options"].items())
    meta = json.dumps({"key_source": "source", "sources": target["sources"]}, ensure_ascii=False)
    gift = (
        f"// [id:s900-imp-new-1] [tag:{TOPIC}]\n::s900-imp-new-1::新题:客户满意度取决于什么?{{\n\t=感知与期望之比\n\t~价格\n}}\n\n"
        f"// [id:{target['id']}] [tag:{target['topics'][0]}]\n// crm-meta {meta}\n"
        f"::{target['id']}::{gift_escape(target['stem'])}(改){{\n\t{options}\n}}\n\n"
        "// [id:s900-imp-bad] [tag:没有这个专题]\n::s900-imp-bad::坏题{\n\t=甲\n\t~乙\n}\n\n"
        "这一段不是 GIFT 题目\n"
    )
    lines = gift.split("\n")
    bad_line = lines.index("// [id:s900-imp-bad] [tag:没有这个专题]") + 1
    junk_line = lines.index("这一段不是 GIFT 题目") + 1
    before = counts(app)
    url, html = upload(instructor, gift, "new.gift")
    assert summary(html) == (1, 1, 0, 1)
    assert "s900-imp-new-1" in html and target["id"] in html
    assert f"第 {bad_line} 行（s900-imp-bad）：未知主题 &#39;没有这个专题&#39;" in html
    assert f"第 {junk_line} 行：无法识别的 GIFT 题目" in html
    assert "确认导入" not in html
    response = confirm(instructor, url)  # a forced confirm imports nothing either
    assert "没有导入任何题目" in response.get_data(as_text=True)
    assert counts(app) == before

    fixed = gift.split("// [id:s900-imp-bad]")[0]
    url, html = upload(instructor, fixed, "new.gift")
    assert summary(html) == (1, 1, 0, 0) and "确认导入" in html
    response = confirm(instructor, url)
    assert response.status_code == 302
    items, versions = counts(app)
    assert items == before[0] + 1 and versions == before[1] + 2
    with app.app_context():
        new = db.session.scalar(sa.select(Item).where(Item.uid == "s900-imp-new-1"))
        assert new.origin == "import" and new.answer == ["A"] and new.key_source == "source"
        assert [s.to_dict() for s in new.sources] == [{"seed": "new.gift", "section": "导入", "number": 1}]
        assert any("原文件没有出处信息" in n for n in new.notes)
        assert new.versions[0].created_by_id is not None
        updated = db.session.scalar(sa.select(Item).where(Item.uid == target["id"]))
        assert updated.version == 2 and updated.stem.endswith("(改)")
    # the stored upload is gone after the import
    assert instructor.get(url).status_code == 404


def test_json_and_moodle_errors_name_their_place(instructor):
    _, html = upload(instructor, '{"items": [\n  {"id": "s900-x", "type": "single_choice",,}\n]}', "bad.json")
    assert "第 2 行：JSON 无法解析" in html
    xml = ('<?xml version="1.0"?>\n<quiz>\n<question type="essay"><name><text>s900-ok</text></name>'
           '<questiontext><text>论述</text></questiontext></question>\n'
           '<question type="matching"><name><text>m</text></name></question>\n</quiz>\n')
    _, html = upload(instructor, xml, "quiz.xml")
    assert "第 2 个 &lt;question&gt;（m）：不支持的题型 &#39;matching&#39;" in html
    assert "第 1 个 &lt;question&gt;（s900-ok）：缺少字段 topics" in html


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
