"""The role matrix: every rule in app.url_map, requested as six kinds of visitor, answers as the table says.

Every endpoint needs an entry in ``TABLE``; ``test_every_endpoint_is_in_the_table`` fails (naming the endpoint)
when a new route has none. An entry is a ``Rule``:

    "sandbox.index": Rule(lambda w: "/sandbox/", signed_in(200)),

``url`` builds the URL from the ``World`` (ids of real objects made for the test: a class taught by
``instructor`` with ``student`` in it, the student's practice set, response and exam, an assignment, ...);
``expect`` maps each role to a status: ``LOGIN`` (302 to the login page), ``302`` (a redirect elsewhere), 200,
400, 403, 404. The helpers below (``everyone``, ``signed_in``, ``instructors``, ``class_viewers``,
``class_managers``, ``owner_only``) cover the usual shapes. POST rules are sent with a valid CSRF token and
``data``; a rule with ``fresh=True`` gets a new world for each role (for actions that delete what they act on).
To give a new feature objects to point at, add them to ``World`` and ``build_world``.

Roles: ``anonymous``; ``student`` (member of the class, owner of the practice data); ``other_student`` (in no
class); ``instructor`` (teaches the class); ``other_instructor`` (teaches another class); ``admin``.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from tests.conftest import BASE_CONFIG, TEST_DATABASE_URL, _admin_engine, _pg_url

ROLES = ("anonymous", "student", "other_student", "instructor", "other_instructor", "admin")
LOGIN = "login"


@dataclass
class World:
    users: dict[str, int]  # role -> user id (anonymous has none)
    uid: str  # a gradable single-choice item
    unkeyed_uid: str
    topic: str
    note: str
    class_id: int
    other_class_id: int
    set_id: int  # the student's practice set
    set_item_id: int
    response_id: int  # the student's practice answer
    exam_id: int  # the student's open mock exam
    assignment_id: int  # a quiz in the class
    import_token: str  # an upload stored by the instructor
    demo_user_id: int
    extra: dict[str, Any] = field(default_factory=dict)


Expect = dict[str, int | str]


@dataclass
class Rule:
    url: Callable[[World], str]
    expect: Expect
    data: Callable[[World], dict] | None = None
    fresh: bool = False


def _roles(anonymous, student, other_student, instructor, other_instructor, admin) -> Expect:
    return dict(zip(ROLES, (anonymous, student, other_student, instructor, other_instructor, admin), strict=True))


def everyone(status: int = 200) -> Expect:
    return _roles(status, status, status, status, status, status)


def signed_in(status: int = 200) -> Expect:
    return _roles(LOGIN, status, status, status, status, status)


def guests_only(status: int = 200) -> Expect:
    """Pages for visitors (login, register): signed-in users are sent home."""
    return _roles(status, 302, 302, 302, 302, 302)


def instructors(status: int = 200) -> Expect:
    return _roles(LOGIN, 403, 403, status, status, status)


def admins(status: int = 200) -> Expect:
    return _roles(LOGIN, 403, 403, 403, 403, status)


def class_viewers(status: int = 200) -> Expect:
    """Pages of the class: its members and its instructor (and admins); 404 for everybody else."""
    return _roles(LOGIN, status, 404, status, 404, status)


def class_managers(status: int = 200) -> Expect:
    """Managing the class: its instructor and admins; 403 for a member, 404 for outsiders."""
    return _roles(LOGIN, 403, 404, status, 404, status)


def owner_only(status: int = 200, anonymous: int | str = LOGIN) -> Expect:
    """The student's own data (practice sets, responses, exams): 404 for everybody else, admins included."""
    return _roles(anonymous, status, 404, 404, 404, 404)


TABLE: dict[str, Rule] = {
    "static": Rule(lambda w: "/static/css/site.css", everyone()),
    # ---- auth
    "auth.login": Rule(lambda w: "/auth/login", guests_only()),
    "auth.register": Rule(lambda w: "/auth/register", guests_only()),
    "auth.logout": Rule(lambda w: "/auth/logout", signed_in(302)),
    # ---- bank (public)
    "bank.index": Rule(lambda w: "/", everyone()),
    "bank.browse": Rule(lambda w: "/bank/", everyone()),
    "bank.search": Rule(lambda w: "/search?q=客户", everyone()),
    "bank.item": Rule(lambda w: f"/bank/items/{w.uid}", everyone()),
    "bank.topics": Rule(lambda w: "/topics/", everyone()),
    "bank.topic": Rule(lambda w: f"/topics/{w.topic}", everyone()),
    "bank.note": Rule(lambda w: f"/notes/{w.note}", everyone()),
    "bank.seeds": Rule(lambda w: "/seeds/", everyone()),
    # ---- practice (visitors practise too; their sets live in the session)
    "practice.home": Rule(lambda w: "/practice/", everyone()),
    "practice.start": Rule(lambda w: "/practice/start?mode=sequential", everyone(302)),
    "practice.single": Rule(lambda w: f"/practice/items/{w.uid}", everyone(302)),
    "practice.run": Rule(lambda w: f"/practice/sets/{w.set_id}", owner_only(anonymous=404)),
    "practice.answer": Rule(lambda w: f"/practice/sets/{w.set_id}/answer", owner_only(302, anonymous=404),
                            data=lambda w: {"item_id": w.set_item_id, "answer": "A"}),
    "practice.study_next": Rule(lambda w: f"/practice/sets/{w.set_id}/next", owner_only(302, anonymous=404)),
    "practice.feedback": Rule(lambda w: f"/practice/responses/{w.response_id}", owner_only(anonymous=404)),
    "practice.assess": Rule(lambda w: f"/practice/responses/{w.response_id}/assess", owner_only(302, anonymous=404)),
    "practice.star": Rule(lambda w: f"/practice/items/{w.uid}/star", signed_in(302)),
    "practice.wrong_book": Rule(lambda w: "/practice/wrong", signed_in()),
    "practice.starred": Rule(lambda w: "/practice/starred", signed_in()),
    "practice.progress": Rule(lambda w: "/practice/progress", signed_in()),
    "practice.exams": Rule(lambda w: "/exam/", signed_in()),
    "practice.exam_new": Rule(lambda w: "/exam/new", signed_in()),
    "practice.exam": Rule(lambda w: f"/exam/{w.exam_id}", owner_only()),
    "practice.exam_confirm": Rule(lambda w: f"/exam/{w.exam_id}/confirm", owner_only()),
    "practice.exam_result": Rule(lambda w: f"/exam/{w.exam_id}/result", owner_only(302)),  # open: back to the paper
    "practice.exam_save": Rule(lambda w: f"/exam/{w.exam_id}/save", owner_only(302), data=lambda w: {"position": 0}),
    "practice.exam_submit": Rule(lambda w: f"/exam/{w.exam_id}/submit", owner_only(302)),
    # ---- authoring (instructors; admins pass everything)
    "authoring.index": Rule(lambda w: "/manage/", instructors()),
    "authoring.new": Rule(lambda w: "/manage/items/new", instructors()),
    "authoring.edit": Rule(lambda w: f"/manage/items/{w.uid}/edit", instructors()),
    "authoring.retire": Rule(lambda w: f"/manage/items/{w.uid}/retire", instructors(302)),
    "authoring.versions": Rule(lambda w: f"/manage/items/{w.uid}/versions", instructors()),
    "authoring.keying": Rule(lambda w: "/manage/keying", instructors()),
    "authoring.key": Rule(lambda w: f"/manage/keying/{w.unkeyed_uid}", instructors()),
    "authoring.export": Rule(lambda w: "/manage/export", instructors()),
    "authoring.export_download": Rule(lambda w: "/manage/export/json", instructors()),
    "authoring.import_upload": Rule(lambda w: "/manage/import", instructors()),
    # an upload belongs to its uploader: other instructors (and admins) get 404
    "authoring.import_review": Rule(lambda w: f"/manage/import/{w.import_token}",
                                    _roles(LOGIN, 403, 403, 200, 404, 404)),
    "authoring.import_confirm": Rule(lambda w: f"/manage/import/{w.import_token}/confirm",
                                     _roles(LOGIN, 403, 403, 200, 404, 404)),  # 200: the review page (empty file)
    "authoring.users": Rule(lambda w: "/manage/users", admins()),
    "authoring.user_role": Rule(lambda w: f"/manage/users/{w.users['other_student']}/role", admins(302),
                                data=lambda w: {"role": "student"}),
    "authoring.user_delete": Rule(lambda w: f"/manage/users/{w.demo_user_id}/delete", admins(302), fresh=True),
    # ---- classes
    "classes.index": Rule(lambda w: "/classes/", signed_in()),
    "classes.new": Rule(lambda w: "/classes/new", instructors()),
    "classes.join": Rule(lambda w: "/classes/join", signed_in()),
    "classes.detail": Rule(lambda w: f"/classes/{w.class_id}", class_viewers()),
    "classes.edit": Rule(lambda w: f"/classes/{w.class_id}/edit", class_managers()),
    "classes.regenerate_code": Rule(lambda w: f"/classes/{w.class_id}/code", class_managers(302)),
    "classes.roster": Rule(lambda w: f"/classes/{w.class_id}/roster", class_managers()),
    "classes.roster_import": Rule(lambda w: f"/classes/{w.class_id}/roster/import", class_managers()),  # no file
    "classes.remove_member": Rule(lambda w: f"/classes/{w.class_id}/members/{w.users['student']}/remove",
                                  class_managers(302), fresh=True),
    # ---- assignments
    "assignments.index": Rule(lambda w: "/assignments/", signed_in()),
    "assignments.class_list": Rule(lambda w: f"/assignments/class/{w.class_id}/", class_viewers()),
    "assignments.new": Rule(lambda w: f"/assignments/class/{w.class_id}/new", class_managers()),
    "assignments.detail": Rule(lambda w: f"/assignments/{w.assignment_id}", class_viewers()),
    "assignments.edit": Rule(lambda w: f"/assignments/{w.assignment_id}/edit", class_managers()),
    "assignments.delete": Rule(lambda w: f"/assignments/{w.assignment_id}/delete", class_managers(302), fresh=True),
    "assignments.start": Rule(lambda w: f"/assignments/{w.assignment_id}/start",
                              _roles(LOGIN, 302, 404, 403, 404, 403)),  # only members take a quiz
    "assignments.gradebook": Rule(lambda w: f"/assignments/class/{w.class_id}/gradebook", class_managers()),
    "assignments.gradebook_csv": Rule(lambda w: f"/assignments/class/{w.class_id}/gradebook.csv", class_managers()),
    "assignments.topics": Rule(lambda w: f"/assignments/class/{w.class_id}/topics", class_managers()),
    "assignments.grade": Rule(lambda w: f"/assignments/{w.assignment_id}/grades/{w.users['student']}",
                              class_managers()),
    "assignments.statistics": Rule(lambda w: f"/assignments/{w.assignment_id}/statistics", class_managers()),
    "assignments.flag": Rule(lambda w: f"/assignments/{w.assignment_id}/statistics/flag", class_managers(302)),
    "assignments.item_search": Rule(lambda w: "/assignments/items", instructors()),
    "assignments.bank_statistics": Rule(lambda w: "/assignments/statistics", instructors()),
    "assignments.bank_flag": Rule(lambda w: "/assignments/statistics/flag", instructors(302)),
    # ---- sandbox (a class's sandbox: its members and instructor; 404 for outsiders, who must not learn it exists)
    "sandbox.index": Rule(lambda w: "/sandbox/", signed_in()),
    "sandbox.new": Rule(lambda w: "/sandbox/new", instructors()),
    "sandbox.dashboard": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/", class_viewers()),
    # a wrong confirmation: the request is checked and sent back without resetting or deleting anything
    "sandbox.reset": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/reset", class_managers(302),
                          data=lambda w: {"confirm": "no"}),
    "sandbox.delete": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/delete", class_managers(302),
                           data=lambda w: {"confirm": "no"}),
    "sandbox.customers": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/customers?tier=VIP", class_viewers()),
    "sandbox.customer": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/customers/1", class_viewers()),
    "sandbox.log_interaction": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/customers/1/interactions",
                                    class_viewers(302), data=lambda w: {"kind": "电话", "direction": "呼出",
                                                                        "note": "回访"}),
    "sandbox.handle_ticket": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/customers/{w.extra['ticket'][1]}/tickets/"
                                            f"{w.extra['ticket'][0]}", class_viewers(302),
                                  data=lambda w: {"outcome": "resolved", "note": "已处理"}),
    "sandbox.segments": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/segments", class_viewers()),
    "sandbox.delete_segment": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/segments/{w.extra['segment']}/delete",
                                   _roles(LOGIN, 302, 404, 404, 404, 404), fresh=True),  # a student's own segment
    "sandbox.campaigns_page": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/campaigns", class_viewers()),
    "sandbox.campaign_run": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/campaigns/{w.extra['campaign']}",
                                 _roles(LOGIN, 200, 404, 404, 404, 404)),  # a student's own campaign
    "sandbox.downloads": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/downloads", class_viewers()),
    "sandbox.download": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/downloads/customers.csv", class_viewers()),
    "sandbox.analysis_home": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/analysis/", class_viewers(302)),
    "sandbox.analysis": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/analysis/rfm", class_viewers()),
    "sandbox.exercises": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/exercises", class_viewers()),
    "sandbox.exercise": Rule(lambda w: f"/sandbox/{w.extra['sandbox']}/exercises/pareto_share", class_viewers()),
    "sandbox.cases": Rule(lambda w: "/sandbox/cases", instructors()),
    "sandbox.case": Rule(lambda w: f"/sandbox/case/{w.extra['case']}", class_viewers()),
    "sandbox.close_case": Rule(lambda w: f"/sandbox/case/{w.extra['case']}/close", class_managers(302),
                               data=lambda w: {"action": "now"}),
    "sandbox.assign": Rule(lambda w: f"/sandbox/assign/{w.class_id}", class_managers()),
}


# ---------------------------------------------------------------- one database for the module

@pytest.fixture(scope="module")
def matrix_app(template_db, tmp_path_factory):
    kind, where = template_db
    tmp = tmp_path_factory.mktemp("roles")
    if kind == "sqlite":
        shutil.copyfile(where, tmp / "roles.sqlite3")
        url, name = f"sqlite:///{tmp / 'roles.sqlite3'}", None
    else:
        name = f"crm_roles_{uuid.uuid4().hex[:8]}"
        with _admin_engine().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{where}"'))
        url = _pg_url(name)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    app.instance_path = str(tmp / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if name and TEST_DATABASE_URL:
        with _admin_engine().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_worlds = itertools.count(1)


def build_world(app) -> World:
    """Fresh users and objects (names are unique, so worlds can share the database)."""
    from app.authoring.imports import store_upload
    from app.clock import now
    from app.models import Item, Note, Topic, User
    from app.models.classes import Membership, SchoolClass

    n = next(_worlds)
    with app.app_context():
        users = {}
        for role, kind in (("student", "student"), ("other_student", "student"), ("instructor", "instructor"),
                           ("other_instructor", "instructor"), ("admin", "admin"), ("demo", "student")):
            user = User(username=f"{role}-{n}", role=kind, is_demo=role == "demo")
            user.set_password("secret123")
            db.session.add(user)
            db.session.flush()
            users[role] = user.id
        demo = users.pop("demo")
        school_class = SchoolClass(name=f"班级 {n}", instructor_id=users["instructor"], join_code=f"W{n:05d}"[-6:])
        other_class = SchoolClass(name=f"别的班 {n}", instructor_id=users["other_instructor"],
                                  join_code=f"X{n:05d}"[-6:])
        db.session.add_all([school_class, other_class])
        db.session.flush()
        db.session.add(Membership(class_id=school_class.id, user_id=users["student"]))
        gradable = sa.select(Item).where(Item.retired.is_(False), Item.key_source != "none")
        item = db.session.scalars(gradable.where(Item.type == "single_choice").order_by(Item.position)).first()
        unkeyed = db.session.scalars(sa.select(Item.uid).where(Item.key_source == "none").order_by(Item.id)).first()
        world = World(
            users=users, uid=item.uid, unkeyed_uid=unkeyed,
            topic=db.session.scalars(sa.select(Topic.slug).order_by(Topic.position)).first(),
            note=db.session.scalars(sa.select(Note.slug).order_by(Note.slug)).first(),
            class_id=school_class.id, other_class_id=other_class.id, set_id=0, set_item_id=item.id, response_id=0,
            exam_id=0, assignment_id=0, import_token=store_upload(app.instance_path, users["instructor"], "x.json",
                                                                  "json", b'{"items": []}'),
            demo_user_id=demo)
        if "practice" in app.blueprints:
            from app.practice import services as practice

            owner = practice.Owner(users["student"], None)
            practice_set = practice.build_set(owner, "single", {"item_ids": [item.id]})
            record, _ = practice.record_answer(owner, item, ["A"], "single", practice_set)
            attempt = practice.start_exam(users["student"], {
                "title": "模拟考试", "minutes": 60, "topics": [],
                "sections": [{"type": "single_choice", "count": 2, "points": 1}]})
            world.set_id, world.response_id, world.exam_id = practice_set.id, record.id, attempt.id
        if "assignments" in app.blueprints:
            from app.models.assignments import Assignment

            assignment = Assignment(class_id=school_class.id, kind="quiz", title=f"测验 {n}",
                                    closes_at=now() + timedelta(days=7), attempts_allowed=0,
                                    settings={"source": "items", "items": [{"item_id": item.id, "uid": item.uid,
                                                                            "points": 1}]},
                                    created_by_id=users["instructor"])
            db.session.add(assignment)
            db.session.flush()
            world.assignment_id = assignment.id
        db.session.commit()
        if "sandbox" in app.blueprints:
            _sandbox_world(world, school_class.id, users)
    return world


def _sandbox_world(world: World, class_id: int, users: dict[str, int]) -> None:
    """A tiny sandbox of the class, with a ticket, and a segment, a campaign and a case run to point at."""
    from app.models.sandbox import SbCaseRun, SbSegment
    from app.sandbox import campaigns, store
    from app.sandbox import services as svc

    sandbox = svc.create_sandbox(class_id=class_id, customers=100, months=6, seed=1, created_by_id=users["instructor"])
    ticket = store.one(sandbox, "SELECT id, customer_id FROM tickets ORDER BY id LIMIT 1")
    segment = SbSegment(sandbox_id=sandbox.id, user_id=users["student"], name="VIP", filters={"tier": "VIP"})
    db.session.add(segment)
    db.session.flush()
    run = campaigns.run_campaign(sandbox, users["student"], segment, "回访", "短信", 0.05, 200.0, None)
    case = SbCaseRun(sandbox_id=sandbox.id, class_id=class_id, case_key="sto_express",
                     started_by_id=users["instructor"])
    db.session.add(case)
    db.session.commit()
    world.extra.update(sandbox=sandbox.id, ticket=tuple(ticket) if ticket else (1, 1), segment=segment.id,
                       campaign=run.id, case=case.id)


def client_as(app, role: str, world: World):
    client = app.test_client()
    if role != "anonymous":
        with client.session_transaction() as session:
            session["_user_id"] = str(world.users[role])
            session["_fresh"] = True
    return client


def request(client, method: str, url: str, data: dict | None):
    if method == "GET":
        return client.get(url)
    html = client.get("/").get_data(as_text=True)
    token = html.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return client.post(url, data={**(data or {}), "csrf_token": token})


def outcome(response) -> int | str:
    if response.status_code == 302 and "/auth/login" in response.headers.get("Location", ""):
        return LOGIN
    return response.status_code


def method_of(rule) -> str:
    return "GET" if "GET" in (rule.methods or ()) else "POST"


# ---------------------------------------------------------------- the tests

def test_every_endpoint_is_in_the_table(matrix_app):
    endpoints = {rule.endpoint for rule in matrix_app.url_map.iter_rules()}
    missing = sorted(endpoints - set(TABLE))
    assert not missing, (
        "These endpoints have no entry in TABLE in tests/test_roles.py; add one per endpoint with the expected "
        f"status for each role ({', '.join(ROLES)}): {', '.join(missing)}")
    blueprints = set(matrix_app.blueprints)
    stale = sorted(e for e in TABLE if e not in endpoints and e.split(".")[0] in blueprints | {"static"})
    assert not stale, f"TABLE in tests/test_roles.py names endpoints that no longer exist: {', '.join(stale)}"


@pytest.mark.parametrize("endpoint", sorted(TABLE))
def test_role_matrix(matrix_app, endpoint):
    rules = [r for r in matrix_app.url_map.iter_rules() if r.endpoint == endpoint]
    if not rules:
        pytest.skip(f"{endpoint}: its blueprint is not installed")
    entry = TABLE[endpoint]
    assert set(entry.expect) == set(ROLES), f"{endpoint}: give an expected status for every role {ROLES}"
    world = build_world(matrix_app)
    wrong = []
    for role in ROLES:
        if entry.fresh and role != ROLES[0]:
            world = build_world(matrix_app)
        url = entry.url(world)
        method = method_of(rules[0])
        response = request(client_as(matrix_app, role, world), method, url, entry.data(world) if entry.data else None)
        got = outcome(response)
        response.close()
        if got != entry.expect[role]:
            wrong.append(f"{role}: {method} {url} expected {entry.expect[role]}, got {got}"
                         + (f" → {response.headers.get('Location')}" if response.status_code == 302 else ""))
    assert not wrong, f"{endpoint}:\n  " + "\n  ".join(wrong)


def test_role_required_names_real_roles():
    from app.auth.decorators import role_required

    with pytest.raises(ValueError, match="teacher"):
        role_required("teacher")
    with pytest.raises(ValueError):
        role_required()
