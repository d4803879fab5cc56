"""Sessions opened from a remembered cookie (app/sessions.py) behave exactly like Flask's verified ones."""

from __future__ import annotations

import time
from datetime import timedelta

from app.sessions import RememberingSessionInterface


def _cookie(client, app) -> str:
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return cookie.value


def test_a_remembered_session_still_expires_with_its_lifetime(app, student, monkeypatch):
    assert isinstance(app.session_interface, RememberingSessionInterface)
    assert student.get("/practice/wrong").status_code == 200  # signed in; this process has seen the cookie
    assert student.get("/practice/wrong").status_code == 200  # (opened from memory)
    app.permanent_session_lifetime = timedelta(hours=1)
    later = time.time() + 2 * 3600
    monkeypatch.setattr(time, "time", lambda: later)  # itsdangerous and app/sessions.py read the same clock
    response = student.get("/practice/wrong")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_new_secret_key_forgets_every_remembered_cookie(app, student):
    assert student.get("/practice/wrong").status_code == 200
    app.secret_key = "another-secret-key-for-this-test"
    response = student.get("/practice/wrong")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_tampered_cookie_is_not_taken_for_a_remembered_one(app, student):
    assert student.get("/practice/wrong").status_code == 200
    value = _cookie(student, app)
    payload, signature = value.rsplit(".", 1)
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    with app.test_request_context("/", headers={"Cookie": f"session={forged}"}):
        assert dict(app.session_interface.open_session(app, __import__("flask").request)) == {}
    with app.test_request_context("/", headers={"Cookie": f"session={value}"}):
        assert "_user_id" in app.session_interface.open_session(app, __import__("flask").request)


def test_sessions_opened_from_one_cookie_share_nothing(app):
    """Each request gets its own copy; a session holding a list (pending messages) is never remembered."""
    from flask import request

    serializer = app.session_interface.get_signing_serializer(app)
    plain = serializer.dumps({"_user_id": "7.0", "csrf_token": "abc"})
    listed = serializer.dumps({"_user_id": "7.0", "_flashes": [["info", "已保存"]]})
    for value in (plain, listed):
        with app.test_request_context("/", headers={"Cookie": f"session={value}"}):
            first = app.session_interface.open_session(app, request)
            first["_user_id"] = "8.0"
            if "_flashes" in first:
                first["_flashes"].append(["info", "又一条"])
        with app.test_request_context("/", headers={"Cookie": f"session={value}"}):
            second = app.session_interface.open_session(app, request)
            assert second["_user_id"] == "7.0"
            assert second.get("_flashes", [["info", "已保存"]]) == [["info", "已保存"]]


# ---------------------------------------------------------------- CSRF tokens remembered (app/extensions.py)

def _star(client, uid, token):
    return client.post(f"/practice/items/{uid}/star", headers={"X-CSRFToken": token}, json={})


def _some_uid(app):
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Item

    with app.app_context():
        return db.session.scalar(sa.select(Item.uid).limit(1))


def test_a_remembered_csrf_token_is_refused_with_another_session(app, student):
    from tests.conftest import csrf_token, login, make_user

    uid = _some_uid(app)
    mine = csrf_token(student, "/practice/")
    assert _star(student, uid, mine).status_code in (200, 302)  # verified and remembered
    make_user(app, "bob")
    other = app.test_client()
    login(other, "bob")
    assert _star(other, uid, mine).status_code == 400  # alice's token, bob's session
    assert _star(student, uid, mine).status_code in (200, 302)


def test_a_remembered_csrf_token_still_expires(app, student, monkeypatch):
    from tests.conftest import csrf_token

    app.config["WTF_CSRF_TIME_LIMIT"] = 3600  # (the site's tokens last as long as the session: an exam is long)
    uid = _some_uid(app)
    token = csrf_token(student, "/practice/")
    assert _star(student, uid, token).status_code in (200, 302)
    assert _star(student, uid, token).status_code in (200, 302)  # (remembered)
    later = time.time() + 3600 + 60
    monkeypatch.setattr(time, "time", lambda: later)
    app.permanent_session_lifetime = timedelta(days=400)  # (the session itself is still valid)
    refused = _star(student, uid, token)
    assert refused.status_code == 400, refused.headers.get("Location")
