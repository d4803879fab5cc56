"""Property-based: generated junk in every route's URL parts, query parameters, form fields and JSON bodies never
gives a 500 (hypothesis; FUZZ_EXAMPLES requests, about 30 s).

The parameter names come from the application's own source (``request.args/form.get("...")`` and the WTForms
fields of every form), so the junk reaches the code that reads them; the forms carry a valid CSRF token so the
views, not the CSRF check, see the junk.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import test_roles
from tests.test_roles import build_world, client_as

matrix_app = test_roles.matrix_app  # the role matrix's app fixture (one database for the whole module)

APP_DIR = Path(__file__).resolve().parent.parent / "app"
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "800"))  # 20–45 s on this 2-core machine; the issue allows 60
ROLES = ("anonymous", "student", "instructor", "admin")
SKIP_ENDPOINTS = {"static"}


def _parameter_names() -> list[str]:
    names: set[str] = set()
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"request\.(?:args|form|values)\.(?:get|getlist)\(\s*[\"'](\w+)[\"']", text))
        names |= set(re.findall(r"request\.(?:args|form)\[[\"'](\w+)[\"']\]", text))
        names |= set(re.findall(r"^\s+(\w+)\s*=\s*\w*Field\(", text, flags=re.M))
    return sorted(names - {"csrf_token", "submit"})


PARAMETERS = _parameter_names()

JUNK_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "inf", "99999999999999999999", "\x00", "a\x00b", "%00",
                     "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "\ud7ff" * 3,
                     "A", "true", "false", "[]", "{}", "null", "2026-13-45T25:61", "ＡＢＣ", "　", "\r\n", "x" * 5000]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children,
                                                                               max_size=4)),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_world(matrix_app):
    return build_world(matrix_app)


def _token(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]


def _url_value(converter: str, world, draw) -> str:
    known = [world.set_id, world.response_id, world.exam_id, world.assignment_id, world.class_id,
             world.other_class_id, world.users.get("student", 1), world.demo_user_id] + \
        [v for v in world.extra.values() if isinstance(v, int)]
    if converter == "int":
        return str(draw(st.one_of(st.sampled_from(known), st.integers(min_value=0, max_value=2**63))))
    return draw(st.one_of(st.sampled_from([world.uid, world.unkeyed_uid, world.topic, world.note, world.import_token,
                                           "json", "csv", "yaml"]), JUNK_TEXT.filter(lambda s: "/" not in s and s)))


def test_no_route_gives_a_500_whatever_it_is_sent(matrix_app, fuzz_world):
    app, world = matrix_app, fuzz_world
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS), key=lambda r: r.rule)
    clients = {role: client_as(app, role, world) for role in ROLES}
    tokens = {role: _token(clients[role]) for role in ROLES}
    seen: dict[str, int] = {}
    failures: list[str] = []
    began = time.monotonic()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data):
        rule = data.draw(st.sampled_from(rules), label="rule")
        role = data.draw(st.sampled_from(ROLES), label="role")
        values = {}
        for argument in rule.arguments:
            converter = type(rule._converters[argument]).__name__.replace("Converter", "").lower()
            values[argument] = _url_value("int" if converter == "integer" else converter, world, data.draw)
        path = rule.rule
        for argument, value in values.items():
            quoted = value.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
            path = re.sub(rf"<(?:[^:<>]+:)?{argument}>", lambda _m, q=quoted: q, path)
        query = data.draw(st.dictionaries(st.sampled_from(PARAMETERS), JUNK_TEXT, max_size=4), label="query")
        method = "POST" if "POST" in (rule.methods or ()) and (
            "GET" not in (rule.methods or ()) or data.draw(st.booleans(), label="post")) else "GET"
        client = clients[role]
        kwargs = {"query_string": query}
        if method == "POST":
            kind = data.draw(st.sampled_from(["form", "json", "raw"]), label="body")
            if kind == "form":
                form = data.draw(st.dictionaries(st.sampled_from(PARAMETERS), JUNK_TEXT, max_size=8), label="form")
                kwargs["data"] = {**form, "csrf_token": tokens[role]}
            elif kind == "json":
                kwargs["json"] = data.draw(JSON_VALUES, label="json")
                kwargs["headers"] = {"X-CSRFToken": tokens[role]}
            else:
                kwargs["data"] = data.draw(st.binary(max_size=200), label="raw")
                kwargs["content_type"] = data.draw(st.sampled_from(
                    ["application/json", "application/x-www-form-urlencoded", "text/plain"]), label="ctype")
                kwargs["headers"] = {"X-CSRFToken": tokens[role]}
        seen[rule.endpoint] = seen.get(rule.endpoint, 0) + 1
        try:
            response = client.open(path, method=method, **kwargs)
            status = response.status_code
            response.close()
        except Exception as exc:  # noqa: BLE001 (TESTING propagates exceptions: each one would be a 500)
            status = 500
            detail = f"{type(exc).__name__}: {exc}"[:300]
        else:
            detail = ""
        if status >= 500:
            failures.append(f"{role} {method} {path[:100]} {str(kwargs.get('query_string'))[:150]} "
                            f"{str(kwargs.get('data') or kwargs.get('json'))[:150]} → {status} {detail}")

    fuzz()
    requests = sum(seen.values())
    print(f"\nfuzz: {requests} requests, {len(seen)} of {len(rules)} routes, {len(PARAMETERS)} parameter names, "
          f"{len(failures)} server errors, {time.monotonic() - began:.0f} s")
    assert requests >= min(200, FUZZ_EXAMPLES), requests
    assert not failures, "\n".join(failures[:20])
