"""Classes: create, join by code, see only one's own, roster with removal and CSV import, the demo class."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.models.classes import Membership, SchoolClass
from tests.conftest import csrf_token, login, make_user, post_form


def client_for(app, username: str, role: str = "student"):
    make_user(app, username, role)
    client = app.test_client()
    login(client, username)
    return client


def create_class(client, name: str = "2025 级营销 1 班") -> tuple[int, str]:
    response = post_form(client, "/classes/new", {"name": name, "description": "周三上午"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    class_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    html = client.get(f"/classes/{class_id}").get_data(as_text=True)
    code = re.search(r'class="join-code">([A-Z0-9]{6})<', html).group(1)
    return class_id, code


def join(client, code: str):
    return post_form(client, "/classes/join", {"code": code})


def member_ids(app, class_id: int) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Membership.user_id).where(Membership.class_id == class_id)))


def uid(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def test_instructor_creates_a_class_and_a_student_joins_with_the_code(app, instructor):
    class_id, code = create_class(instructor)
    student = client_for(app, "alice")
    response = join(student, " " + code.lower()[:3] + " " + code.lower()[3:])  # as typed on a phone
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/classes/{class_id}")
    assert member_ids(app, class_id) == {uid(app, "alice")}
    page = student.get(f"/classes/{class_id}").get_data(as_text=True)
    assert "2025 级营销 1 班" in page and "join-code" not in page  # students don't see the code
    assert "2025 级营销 1 班" in student.get("/classes/").get_data(as_text=True)
    again = join(student, code)
    assert again.status_code == 302 and member_ids(app, class_id) == {uid(app, "alice")}
    assert "你已经在班级" in student.get(again.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("code", "message"), [("", "请输入老师给的加入码"), ("ZZZZZZ", "没有这个加入码的班级"),
                                              ("A0O1I!", "加入码不正确")])
def test_wrong_codes_are_explained(app, code, message):
    student = client_for(app, "alice")
    html = join(student, code).get_data(as_text=True)
    assert message in html


def test_archived_classes_refuse_new_members(app, instructor):
    class_id, code = create_class(instructor)
    post_form(instructor, f"/classes/{class_id}/edit", {"name": "旧班", "description": "", "archived": "y"})
    student = client_for(app, "alice")
    assert "已结课" in join(student, code).get_data(as_text=True)
    assert member_ids(app, class_id) == set()


def test_regenerating_the_code_retires_the_old_one(app, instructor):
    class_id, old = create_class(instructor)
    post_form(instructor, f"/classes/{class_id}/code", page=f"/classes/{class_id}")
    html = instructor.get(f"/classes/{class_id}").get_data(as_text=True)
    new = re.search(r'class="join-code">([A-Z0-9]{6})<', html).group(1)
    assert new != old
    student = client_for(app, "alice")
    assert "没有这个加入码的班级" in join(student, old).get_data(as_text=True)
    assert join(student, new).status_code == 302


def test_instructors_see_only_their_own_classes_and_admins_see_all(app, instructor):
    mine, _ = create_class(instructor, "我的班")
    other = client_for(app, "other_teacher", "instructor")
    theirs, _ = create_class(other, "别人的班")
    listing = instructor.get("/classes/").get_data(as_text=True)
    assert "我的班" in listing and "别人的班" not in listing
    assert instructor.get(f"/classes/{theirs}").status_code == 404
    assert instructor.get(f"/classes/{theirs}/roster").status_code == 404
    admin = client_for(app, "root", "admin")
    listing = admin.get("/classes/").get_data(as_text=True)
    assert "我的班" in listing and "别人的班" in listing
    assert admin.get(f"/classes/{theirs}/roster").status_code == 200
    assert mine != theirs


def test_students_cannot_create_or_manage_classes(app, instructor):
    class_id, code = create_class(instructor)
    student = client_for(app, "alice")
    join(student, code)
    assert student.get("/classes/new").status_code == 403
    assert student.get(f"/classes/{class_id}/roster").status_code == 403
    assert student.get(f"/classes/{class_id}/edit").status_code == 403
    outsider = client_for(app, "bob")
    assert outsider.get(f"/classes/{class_id}").status_code == 404


def test_roster_lists_members_and_removes_one(app, instructor):
    class_id, code = create_class(instructor)
    for name in ("alice", "bob"):
        join(client_for(app, name), code)
    html = instructor.get(f"/classes/{class_id}/roster").get_data(as_text=True)
    assert "alice" in html and "bob" in html and "花名册" in html
    response = post_form(instructor, f"/classes/{class_id}/members/{uid(app, 'bob')}/remove",
                         page=f"/classes/{class_id}/roster")
    assert response.status_code == 302
    assert member_ids(app, class_id) == {uid(app, "alice")}
    assert uid(app, "bob") is not None  # the account stays
    again = post_form(instructor, f"/classes/{class_id}/members/{uid(app, 'bob')}/remove",
                      page=f"/classes/{class_id}/roster")
    assert again.status_code == 404


def test_class_page_has_the_feature_blocks(app, instructor):
    class_id, _ = create_class(instructor)
    html = instructor.get(f"/classes/{class_id}").get_data(as_text=True)
    if "assignments" in app.blueprints:
        assert "作业与测验" in html
    assert "更换加入码" in html and "花名册" in html


# ---------------------------------------------------------------- roster CSV

def import_roster(client, class_id: int, content: bytes):
    url = f"/classes/{class_id}/roster"
    return client.post(f"{url}/import", data={"csrf_token": csrf_token(client, url),
                                              "file": (io.BytesIO(content), "名单.csv")},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf8", "utf8-bom"])
def test_roster_csv_creates_accounts_and_enrols(app, instructor, bom):
    class_id, _ = create_class(instructor)
    make_user(app, "carol", "student", password="carol-pw")
    csv_text = "学号,姓名,用户名,初始密码\r\n2025001,张三,zhangsan,pass1234\r\n2025002,李四,lisi\r\n2025003,Carol,carol,\r\n"
    response = import_roster(instructor, class_id, bom + csv_text.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "花名册已导入" in html, html[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    assert "新建账号 2 个，已有账号发出邀请 1 人" in html
    generated = re.search(r"<td>lisi</td><td><code>([a-z0-9]{8})</code>", html).group(1)
    assert "<td>zhangsan</td><td><code>pass1234</code>" in html
    assert "carol" in html and "carol-pw" not in html
    # carol's account existed before: she is invited, and joins only when she accepts
    assert member_ids(app, class_id) == {uid(app, n) for n in ("zhangsan", "lisi")}
    carol = app.test_client()
    login(carol, "carol", "carol-pw")
    page = carol.get("/classes/").get_data(as_text=True)
    assert "班级邀请" in page and "2025003" in page
    invitation = re.search(r'/classes/invitations/(\d+)', page).group(1)
    post_form(carol, f"/classes/invitations/{invitation}", {"accept": "1"}, page="/classes/")
    assert member_ids(app, class_id) == {uid(app, n) for n in ("zhangsan", "lisi", "carol")}
    with app.app_context():
        numbers = dict(db.session.execute(sa.select(User.username, Membership.student_number)
                                          .join(Membership, Membership.user_id == User.id)).all())
        assert numbers == {"zhangsan": "2025001", "lisi": "2025002", "carol": "2025003"}
        lisi = db.session.scalar(sa.select(User).where(User.username == "lisi"))
        assert lisi.role == "student" and lisi.display_name == "李四"
    for username, password in (("lisi", generated), ("zhangsan", "pass1234"), ("carol", "carol-pw")):
        fresh = app.test_client()
        login(fresh, username, password)
    roster = instructor.get(f"/classes/{class_id}/roster").get_data(as_text=True)
    assert "2025002" in roster and generated not in roster  # the password was shown once


@pytest.mark.parametrize(("content", "message"), [
    ("2025001,张三,zhangsan\n2025002,,lisi\n", "第 2 行，姓名：不能为空"),
    ("学号,姓名,用户名\n2025001,张三,zhangsan\n,李四,lisi\n", "第 3 行，学号：不能为空"),
    ("2025001,张三,zhangsan\n2025002,李四,li si\n", "第 2 行，用户名：“li si”无效"),
    ("2025001,张三,zhangsan\n2025002,李四,zhangsan\n", "第 2 行，用户名：“zhangsan”与第 1 行重复"),
    ("2025001,张三,zhangsan\n2025001,李四,lisi\n", "第 2 行，学号：“2025001”与第 1 行重复"),
    ("2025001,张三,zhangsan,123\n", "第 1 行，初始密码：密码至少 8 个字符"),
    ("2025001,张三,zhangsan,12345678\n", "第 1 行，初始密码：这个密码太常见"),
    ("2025001,张三,zhang\x00san\n", "含有空字符"),
    ("2025001,张三\n", "第 1 行：需要 学号、姓名、用户名 三列"),
    ("2025001,张三,zhangsan,pw123456,多余\n", "第 1 行：多出第 5 列"),
    ("2025001,张三,teacher\n", "第 1 行，用户名：“teacher”是教师账号"),
    ("", "文件里没有学生"),
])
def test_a_bad_roster_row_imports_nothing(app, instructor, content, message):
    class_id, _ = create_class(instructor)
    with app.app_context():
        users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = import_roster(instructor, class_id, content.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert "没有导入任何学生" in html or "请选择花名册" in html
    assert message in html or (content == "" and "请选择花名册" in html), html[html.find("flash-danger"):][:800]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before
    assert member_ids(app, class_id) == set()


def test_roster_must_be_utf8(app, instructor):
    class_id, _ = create_class(instructor)
    html = import_roster(instructor, class_id, "2025001,张三,zhangsan\n".encode("gbk")).get_data(as_text=True)
    assert "不是 UTF-8 编码" in html


# ---------------------------------------------------------------- demo data

def test_setup_creates_a_demo_class_with_its_join_code(app, runner):
    with app.app_context():  # `flask setup` runs in one; the test runner does not push it for plain click commands
        result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        school_class = db.session.scalar(sa.select(SchoolClass))
        teacher = db.session.scalar(sa.select(User).where(User.username == "demo_teacher"))
        student = db.session.scalar(sa.select(User).where(User.username == "demo_student"))
        assert school_class.instructor_id == teacher.id
        assert school_class.has_member(student)
        assert f"加入码 {school_class.join_code}" in result.output
