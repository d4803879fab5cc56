"""Authoring: the item form for every type, validation, preview, versions, retiring, keying, YAML export, admin."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
import yaml
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField, SelectField, SelectMultipleField, SubmitField

from app.extensions import db
from app.markdown import render_markdown
from app.models import Item, ItemVersion, User
from question_bank import BANK_DIR, load_bank
from question_bank.load import load_topics
from tests.conftest import csrf_token, login, make_user, post_form

SEED = "002_7a33e745644208c9.txt"
TOPIC = "客户满意与忠诚"
BANK = load_bank()


def item_form(**changes) -> dict:
    """A valid single-choice item as the form posts it."""
    data = {
        "type": "single_choice", "stem": "客户忠诚的**核心**表现是?", "option_A": "重复购买", "option_B": "一次性购买",
        "option_C": "投诉", "answer_keys": ["A"], "key_source": "derived", "options_source": "authored",
        "explanation": "见《CRM 系统模块与客户关系管理习题汇编》第5章:「忠诚客户会重复购买」。", "topics": [TOPIC], "sources": f"{SEED} | 第5章习题及答案 | 3",
        "save": "保存",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def item_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Item))


def get_item(app, uid: str) -> dict:
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == uid))
        data = item.to_dict()
        data.update(version=item.version, retired=item.retired, origin=item.origin, keyed_by_id=item.keyed_by_id,
                    keyed_at=item.keyed_at, flagged=item.flagged, seed_file=item.seed_file,
                    authors=[v.created_by_id for v in item.versions])
        return data


def first_uid(app, **where) -> str:
    with app.app_context():
        stmt = sa.select(Item.uid).where(Item.retired.is_(False))
        for name, value in where.items():
            stmt = stmt.where(getattr(Item, name) == value)
        return db.session.scalars(stmt.order_by(Item.position)).first()


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


# ---------------------------------------------------------------- access

def test_authoring_pages_need_an_instructor(app, client):
    response = client.get("/manage/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    make_user(app, "alice", "student")
    login(client, "alice")
    response = client.get("/manage/")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)


def test_instructor_sees_authoring_in_the_nav(instructor):
    html = instructor.get("/").get_data(as_text=True)
    assert "出题与管理" in html
    assert "题目管理" in instructor.get("/manage/").get_data(as_text=True)


# ---------------------------------------------------------------- creating every type

TYPE_FORMS = {
    "single_choice": item_form(),
    "multi_choice": item_form(type="multi_choice", answer_keys=["A", "B"], key_source="source", explanation=""),
    "true_false": item_form(type="true_false", answer_tf="false", correction="应为:忠诚来自满意。", option_A=None,
                            option_B=None, option_C=None, answer_keys=None, key_source="source", explanation=""),
    "term_definition": item_form(type="term_definition", answer_text="客户忠诚是指客户重复购买并推荐。",
                                 key_points="重复购买\n推荐", key_source="source", explanation=""),
    "short_answer": item_form(type="short_answer", answer_text="一是满意;二是信任。", key_source="source",
                              explanation=""),
    "essay": item_form(type="essay", key_source="none", explanation=""),
    "case_study": item_form(type="case_study", **{"parts-0-stem": "分析该企业的问题", "parts-0-answer": "客户流失",
                                                   "parts-1-stem": "提出对策"}, key_source="none", explanation=""),
    "fill_blank": item_form(type="fill_blank", stem="以客户为中心的营销叫做____。", answer_text="关系营销",
                            blanks="关系营销 | 关系行销", key_source="source", explanation=""),
}


@pytest.mark.parametrize("kind", list(TYPE_FORMS))
def test_instructor_creates_an_item_of_every_type(app, instructor, kind):
    before = item_count(app)
    response = post_form(instructor, "/manage/items/new", TYPE_FORMS[kind])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert item_count(app) == before + 1
    uid = response.headers["Location"].rsplit("/", 1)[-1]
    assert uid.startswith("s900-")
    item = get_item(app, uid)
    assert item["type"] == kind and item["version"] == 1 and item["origin"] == "instructor"
    assert item["seed_file"] == "s900_instructor.yaml"
    assert item["authors"] == [user_id(app, "teacher")]
    assert item["topics"] == [TOPIC] and item["sources"] == [{"seed": SEED, "section": "第5章习题及答案", "number": 3}]
    expected = {"single_choice": ["A"], "multi_choice": ["A", "B"], "true_false": False, "term_definition":
                "客户忠诚是指客户重复购买并推荐。", "short_answer": "一是满意;二是信任。", "essay": None,
                "case_study": None, "fill_blank": "关系营销"}[kind]
    assert item["answer"] == expected
    if kind == "term_definition":
        assert item["key_points"] == ["重复购买", "推荐"]
    if kind == "fill_blank":
        assert item["blanks"] == [["关系营销", "关系行销"]]
    if kind == "case_study":
        assert item["parts"] == [{"stem": "分析该企业的问题", "answer": "客户流失"}, {"stem": "提出对策", "answer": ""}]
    if kind == "true_false":
        assert item["correction"] == "应为:忠诚来自满意。" and not item.get("options")
    page = instructor.get(f"/bank/items/{uid}").get_data(as_text=True)
    assert "管理信息" in page and "第 1 版" in page
    # the new item is searchable at once (the full-text index is refreshed)
    assert uid in instructor.get("/manage/", query_string={"q": "客户忠诚的", "status": "all"}).get_data(as_text=True) \
        or kind == "fill_blank"


@pytest.mark.parametrize("kind", list(TYPE_FORMS))
def test_instructor_writes_every_type_without_a_seed_source_and_it_shows_as_theirs(app, instructor, kind):
    keyed = TYPE_FORMS[kind]["key_source"] != "none"
    data = {**TYPE_FORMS[kind], "sources": "", "key_source": "instructor" if keyed else "none", "explanation": "",
            "references": "第三章讲义\n教材第 45 页"}
    response = post_form(instructor, "/manage/items/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    uid = response.headers["Location"].rsplit("/", 1)[-1]
    item = get_item(app, uid)
    assert item["sources"] == [] and item["key_source"] == data["key_source"]
    assert item["author"]["name"] == "Teacher" and item["author"]["date"]
    assert item["references"] == ["第三章讲义", "教材第 45 页"]
    page = instructor.get(f"/bank/items/{uid}").get_data(as_text=True)
    assert f"出处：教师编写 · Teacher · {item['author']['date']}" in page
    assert "参考资料：第三章讲义" in page and "参考资料：教材第 45 页" in page
    assert "答案来自源文档" not in page
    if keyed:
        assert '<span class="prov prov-instructor">教师编写</span>' in page


def test_new_form_renders_every_part(instructor):
    html = instructor.get("/manage/items/new?type=multi_choice").get_data(as_text=True)
    for text in ("选项 A", "选项 H", "正确答案", "案例小题", "得分要点", "出处", "预览", "js/item_form.js"):
        assert text in html
    assert 'value="multi_choice" selected' in html or 'selected value="multi_choice"' in html


# ---------------------------------------------------------------- validation

INVALID = [
    ("two keys on a single choice", item_form(answer_keys=["A", "B"]), "单选题必须恰好有一个正确答案"),
    ("no key on a single choice", item_form(answer_keys=None), "单选题必须恰好有一个正确答案"),
    ("one option on a multiple choice", item_form(type="multi_choice", option_B="", option_C="", answer_keys=["A"]),
     "多选题至少需要两个选项"),
    ("no key on a multiple choice", item_form(type="multi_choice", answer_keys=None), "多选题至少要选择一个正确答案"),
    ("key on an empty option", item_form(answer_keys=["D"]), "答案 D 对应的选项为空"),
    ("gap in the options", item_form(option_B="", answer_keys=["A"]), "选项 B 为空而后面的选项有内容"),
    ("true/false without a boolean", item_form(type="true_false", answer_tf="", answer_keys=None, option_A=None,
                                               option_B=None, option_C=None), "判断题的答案必须选择“正确”或“错误”"),
    ("keyed text item without an answer", item_form(type="short_answer", answer_text="", key_source="source"),
     "请填写参考答案"),
    ("answer on an unkeyed item", item_form(key_source="none"), "答案来源为“源文档未给出答案”时不能填写答案"),
    ("derived key without a quote", item_form(explanation=""), "推导的答案必须在解析中引用"),
    ("case study without parts", item_form(type="case_study", key_source="none", explanation=""), "案例分析题至少需要一个小题"),
    ("oversized rubric", item_form(type="term_definition", answer_text="客户忠诚是指重复购买。", key_source="source",
                                   explanation="", key_points="\n".join(f"要点{n}" for n in range(11))),
     "key_points 最多 10 个要点"),
    ("no topic", item_form(topics=None), "请至少选择一个专题"),
    ("seed key without a seed source", item_form(sources=""), "没有源文档出处的题目，答案来源请选“教师编写”"),
    ("malformed source", item_form(sources="只有一段"), "第 1 行格式应为"),
    ("unknown seed", item_form(sources="nope.txt | 一 | 1"), "资料 nope.txt 不存在"),
    ("no stem", item_form(stem=""), "请填写题干"),
    ("unknown type", item_form(type="riddle"), "请选择题型"),
    ("unknown key source", item_form(key_source="oracle"), "请选择答案来源"),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_items_are_refused_with_a_chinese_message(app, instructor, data, message):
    before = item_count(app)
    response = post_form(instructor, "/manage/items/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html, html[html.find("flash-danger"):][:1500]
    assert "请修改标红的内容后再保存" in html
    assert item_count(app) == before


def test_preview_renders_sanitised_markdown_without_saving(app, instructor):
    before = item_count(app)
    data = item_form(stem="看**这里**<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |", save=None,
                     preview="预览")
    html = post_form(instructor, "/manage/items/new", data).get_data(as_text=True)
    assert "<strong>这里</strong>" in html and "<table>" in html
    assert "<script>alert(1)" not in html
    assert 'aria-label="预览"' in html
    assert item_count(app) == before
    # the form keeps what was typed
    assert "重复购买" in html


# ---------------------------------------------------------------- editing, versions, retiring

def test_editing_creates_a_version_recorded_with_its_author(app, instructor):
    uid = first_uid(app, type="single_choice", key_source="source")
    edit_url = f"/manage/items/{uid}/edit"
    form = instructor.get(edit_url).get_data(as_text=True)
    assert "第 1 版" in form and "停用这道题" in form
    original = get_item(app, uid)
    data = {"type": "single_choice", "stem": original["stem"] + "(修订)", "key_source": "source",
            "options_source": original.get("options_source") or "source", "answer_keys": original["answer"],
            "explanation": original["explanation"], "topics": original["topics"], "save": "保存",
            "sources": "\n".join(f"{s['seed']} | {s['section']} | {s['number']}" for s in original["sources"]),
            "notes": "\n".join(original.get("notes") or [])}
    data.update({f"option_{k}": v for k, v in original["options"].items()})
    response = post_form(instructor, edit_url, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    item = get_item(app, uid)
    assert item["version"] == 2 and item["stem"].endswith("(修订)")
    assert item["authors"] == [None, user_id(app, "teacher")]
    assert item["source_text"] == original["source_text"]  # fields the form does not show are kept
    page = instructor.get(f"/manage/items/{uid}/versions").get_data(as_text=True)
    assert "第 2 版" in page and "第 1 版" in page and "Teacher" in page and "改动：题干" in page
    # saving again without changes adds no version
    response = post_form(instructor, edit_url, {**data, "stem": item["stem"]})
    assert response.status_code == 302
    assert get_item(app, uid)["version"] == 2
    follow = instructor.get(response.headers["Location"]).get_data(as_text=True)
    assert "没有改动" in follow


def test_retired_items_leave_the_bank_but_not_the_instructor_list(app, client, instructor):
    uid = first_uid(app, type="true_false")
    post_form(instructor, f"/manage/items/{uid}/retire", page=f"/manage/items/{uid}/edit")
    assert get_item(app, uid)["retired"]
    listing = instructor.get("/manage/", query_string={"status": "retired"}).get_data(as_text=True)
    assert uid in listing and "已停用" in listing
    assert uid not in instructor.get("/manage/?status=active").get_data(as_text=True)
    assert instructor.get(f"/bank/items/{uid}").status_code == 200  # instructors still see it
    anon = client.application.test_client()
    assert anon.get(f"/bank/items/{uid}").status_code == 404
    post_form(instructor, f"/manage/items/{uid}/retire", page=f"/manage/items/{uid}/edit")
    assert not get_item(app, uid)["retired"]


def test_unknown_item_is_a_404(instructor):
    assert instructor.get("/manage/items/s999-nope/edit").status_code == 404
    assert instructor.get("/manage/items/s999-nope/versions").status_code == 404


# ---------------------------------------------------------------- keying queue

def test_keying_an_unkeyed_item_records_who_and_when(app, instructor):
    uid = first_uid(app, type="single_choice", key_source="none")
    queue = instructor.get("/manage/keying").get_data(as_text=True)
    assert uid in queue
    url = f"/manage/keying/{uid}"
    response = post_form(instructor, url, {"answer_keys": ["B"], "explanation": ""})
    assert "请写明答案的依据" in response.get_data(as_text=True)
    response = post_form(instructor, url, {"answer_keys": ["A", "B"], "explanation": "依据"})
    assert "单选题必须恰好有一个正确答案" in response.get_data(as_text=True)
    response = post_form(instructor, url, {"answer_keys": ["B"], "explanation": "见《CRM 系统模块与客户关系管理习题汇编》第5章:「……」"})
    assert response.status_code == 302
    item = get_item(app, uid)
    assert item["answer"] == ["B"] and item["key_source"] == "derived" and item["version"] == 2
    assert item["keyed_by_id"] == user_id(app, "teacher") and item["keyed_at"] is not None
    assert f"/manage/keying/{uid}" not in instructor.get("/manage/keying?reason=none").get_data(as_text=True)
    page = instructor.get(f"/bank/items/{uid}").get_data(as_text=True)
    assert "答案核定" in page and "Teacher" in page


def test_flagged_items_can_be_confirmed_without_changing_the_key(app, instructor):
    uid = first_uid(app, type="single_choice", key_source="source")
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == uid))
        item.flagged = "区分度为负(-0.20)"
        db.session.commit()
        answer = item.answer
    queue = instructor.get("/manage/keying?reason=flagged").get_data(as_text=True)
    assert uid in queue and "区分度为负" in queue
    response = post_form(instructor, f"/manage/keying/{uid}", {"answer_keys": answer, "explanation": "核对了原文,答案无误"})
    assert response.status_code == 302
    item = get_item(app, uid)
    assert item["flagged"] == "" and item["key_source"] == "source" and item["keyed_at"] is not None
    assert f"/manage/keying/{uid}" not in instructor.get("/manage/keying").get_data(as_text=True)


# ---------------------------------------------------------------- Markdown sanitising

@pytest.mark.parametrize(("source", "absent"), [
    ("<script>alert('x')</script>正文", "<script"),
    ('<img src="/static/favicon.svg" onerror="alert(1)">', "onerror"),
    ('<a href="/bank/" onclick="steal()">链接</a>', "onclick"),
    ("[点我](javascript:alert(1))", "javascript:"),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert(1)"),
    ("<iframe src='https://evil.example'></iframe>", "<iframe"),
    ('<div style="background:url(x)">样式</div>', "style="),
    ("![外部](https://tracker.example/p.gif)", "tracker.example"),
])
def test_markdown_strips_dangerous_html(source, absent):
    assert absent.lower() not in str(render_markdown(source)).lower()


def test_markdown_keeps_tables_lists_emphasis_and_app_images():
    html = str(render_markdown("**重点** *强调*\n\n- 一\n- 二\n\n1. 甲\n2. 乙\n\n| 列 | 值 |\n|---|---|\n| a | 1 |\n\n"
                               "![图](/static/favicon.svg)\n\n[题库](/bank/)"))
    for fragment in ("<strong>重点</strong>", "<em>强调</em>", "<ul>", "<li>一</li>", "<ol>", "<table>", "<td>a</td>",
                     '<img alt="图" src="/static/favicon.svg">', 'href="/bank/"'):
        assert fragment in html, fragment


# ---------------------------------------------------------------- YAML export

def _normal(item: dict) -> dict:
    from app.bank.services import normalise_content

    return {**normalise_content(item), "topics": sorted(item.get("topics") or []),
            "sources": [{**s, "number": str(s["number"])} for s in item.get("sources") or []]}


def test_yaml_export_writes_one_valid_file_per_seed(app, instructor, tmp_path):
    response = post_form(instructor, "/manage/items/new", item_form())
    new_uid = response.headers["Location"].rsplit("/", 1)[-1]
    response = instructor.get("/manage/export/yaml")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    bank_dir = tmp_path / "question_bank"
    bank_dir.mkdir()
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = sorted(archive.namelist())
        for name in names:
            (bank_dir / name.rsplit("/", 1)[-1]).write_bytes(archive.read(name))
    assert names == sorted(f"question_bank/{n}" for n in [*BANK.files, "s900_instructor.yaml"])
    (bank_dir / "topics.yaml").write_text(yaml.safe_dump(load_topics(), allow_unicode=True), encoding="utf-8")
    exported = load_bank(bank_dir)  # validates every file, seeds included
    assert exported.files["s900_instructor.yaml"] == [new_uid]
    for name, uids in BANK.files.items():
        assert exported.files[name] == uids, name
        head = (bank_dir / name).read_text(encoding="utf-8").split("items:")[0]
        original = (BANK_DIR / name).read_text(encoding="utf-8").split("items:")[0]
        assert yaml.safe_load(head) == yaml.safe_load(original)  # the file's seed and title
    by_id = exported.by_id()
    for item in BANK.items:
        assert _normal(by_id[item["id"]]) == _normal(item), item["id"]
    single = instructor.get("/manage/export/yaml?file=s900_instructor.yaml")
    assert single.status_code == 200 and new_uid in single.get_data(as_text=True)
    assert instructor.get("/manage/export/yaml?file=nope.yaml").status_code == 404
    assert "s900_instructor.yaml" in instructor.get("/manage/export").get_data(as_text=True)


def test_cli_exports_yaml_per_seed_into_a_directory(runner, tmp_path):
    result = runner.invoke(args=["bank", "export", "--format", "yaml", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.yaml")) == sorted(BANK.files)


@pytest.mark.parametrize(("fmt", "marker"), [("json", '"items"'), ("gift", "// [id:"), ("moodle-xml", "<quiz>")])
def test_other_exports_download(instructor, fmt, marker):
    response = instructor.get(f"/manage/export/{fmt}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert marker in response.get_data(as_text=True)


# ---------------------------------------------------------------- admin: users

@pytest.fixture
def admin(app, client):
    make_user(app, "root", "admin")
    login(client, "root")
    return client


def test_admin_changes_roles_but_not_their_own(app, admin):
    target = make_user(app, "bob", "student")
    html = admin.get("/manage/users").get_data(as_text=True)
    assert "bob" in html and "用户管理" in html
    response = post_form(admin, f"/manage/users/{target}/role", {"role": "instructor"}, page="/manage/users")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, target).role == "instructor"
    me = user_id(app, "root")
    post_form(admin, f"/manage/users/{me}/role", {"role": "student"}, page="/manage/users")
    with app.app_context():
        assert db.session.get(User, me).role == "admin"
    response = post_form(admin, f"/manage/users/{target}/role", {"role": "wizard"}, page="/manage/users")
    with app.app_context():
        assert db.session.get(User, target).role == "instructor"


def test_admin_deletes_demo_accounts_only(app, admin):
    real = make_user(app, "real", "student")
    demo = make_user(app, "demo_x", "student")
    with app.app_context():
        db.session.get(User, demo).is_demo = True
        db.session.commit()
    html = admin.get("/manage/users").get_data(as_text=True)
    assert html.count(">删除</button>") == 1 and "演示" in html
    post_form(admin, f"/manage/users/{real}/delete", page="/manage/users")
    post_form(admin, f"/manage/users/{demo}/delete", page="/manage/users")
    with app.app_context():
        assert db.session.get(User, real) is not None
        assert db.session.get(User, demo) is None


def test_instructors_cannot_manage_users(app, instructor):
    target = make_user(app, "bob", "student")
    assert instructor.get("/manage/users").status_code == 403
    token = csrf_token(instructor, "/manage/")
    response = instructor.post(f"/manage/users/{target}/role", data={"role": "admin", "csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(User, target).role == "student"


def test_versions_record_nothing_for_topic_only_changes(app, instructor):
    """Topics and sources are not content: changing them keeps the version (history compares content)."""
    response = post_form(instructor, "/manage/items/new", item_form())
    uid = response.headers["Location"].rsplit("/", 1)[-1]
    post_form(instructor, f"/manage/items/{uid}/edit", item_form(topics=[TOPIC, "客户价值"]))
    item = get_item(app, uid)
    assert item["version"] == 1 and sorted(item["topics"]) == sorted([TOPIC, "客户价值"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemVersion).join(Item)
                                 .where(Item.uid == uid)) == 1


def as_formdata(form) -> MultiDict:
    """What a browser posts for a rendered form: every field's shown value, under its name."""
    out = MultiDict()

    def walk(field):
        if isinstance(field, FieldList | FormField):
            for sub in field:
                walk(sub)
        elif isinstance(field, SelectMultipleField):
            for value in field.data or []:
                out.add(field.name, value)
        elif isinstance(field, SelectField):
            out.add(field.name, field.data or "")
        elif not isinstance(field, SubmitField):
            out.add(field.name, field._value())

    for field in form:
        walk(field)
    return out


def test_the_form_round_trips_every_bank_item(app):
    """Opening any item in the form and saving it unchanged reproduces its content exactly (no new version)."""
    from app.authoring.forms import ItemForm
    from app.bank.services import content_hash, normalise_content

    topic_names = [t["name"] for t in load_topics()]
    with app.test_request_context(method="POST", data={}):
        items = db.session.scalars(sa.select(Item)).all()
        for item in items:
            base = item.to_dict()
            shown = ItemForm(topic_names=topic_names, meta={"csrf": False})
            shown.fill(base)
            posted = ItemForm(formdata=as_formdata(shown), topic_names=topic_names, meta={"csrf": False})
            data = posted.item_dict(base)
            assert content_hash(normalise_content(data)) == item.content_hash, item.uid
            assert sorted(data["topics"]) == sorted(t.name for t in item.topics), item.uid
            assert _normal(data)["sources"] == _normal(base)["sources"], item.uid
