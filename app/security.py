"""Site-wide defences: security headers, rate limits, refusal of input no page can use, key and file permissions.

``init_security(app)`` is called by the factory after every blueprint is registered (the rate limits are put on
the registered views by endpoint name, so the feature packages stay unaware of them).
"""

from __future__ import annotations

import functools
import json
import os
import stat
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.exceptions import BadRequest, TooManyRequests
from werkzeug.routing import IntegerConverter

MIN_SECRET_BYTES = 32
MAX_JSON_DEPTH = 32

# Content-Security-Policy: scripts and styles only from this site; no inline script (style attributes are kept
# for progress bars), no framing, forms post only here.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

# endpoint -> (limit, key, deduct_when): failed logins count per account and per address; registrations per
# address; answers per student (hundreds a second refused, a person answering never).
LOGIN_PER_ACCOUNT = "10 per 5 minutes;30 per hour"
LOGIN_PER_ADDRESS = "60 per minute;300 per hour"  # a classroom shares one address behind its NAT
REGISTER_PER_ADDRESS = "30 per hour"
ANSWERS_PER_STUDENT = "20 per second;300 per minute"
GUEST_SETS_PER_ADDRESS = "30 per minute;300 per day"


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that only matches what a database integer can hold (a larger id is a 404, not a 500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", 2**31 - 1)  # PostgreSQL INTEGER (SQLite holds more)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Call before any route is added."""
    app.url_map.converters["int"] = BoundedIntConverter


def init_security(app: Flask) -> None:
    """Install every site-wide defence on the app."""
    _check_secret_key(app)
    _configure_cookies(app)
    _secure_instance(app)
    _init_rate_limits(app)
    app.before_request(_refuse_unusable_input)
    app.after_request(_security_headers)
    register_security_cli(app)


# ---------------------------------------------------------------- configuration checks

def _check_secret_key(app: Flask) -> None:
    key = app.config.get("SECRET_KEY") or ""
    size = len(key.encode("utf-8") if isinstance(key, str) else key)
    if size < MIN_SECRET_BYTES and not (app.debug or app.testing):
        raise RuntimeError(f"SECRET_KEY 太短({size} 字节)：生产环境至少需要 {MIN_SECRET_BYTES} 字节的随机密钥，"
                           "例如 python -c 'import secrets; print(secrets.token_hex(32))' 生成")


def _configure_cookies(app: Flask) -> None:
    """SameSite=Lax on both cookies, Secure over HTTPS, remember-me for 14 days; ProxyFix when asked."""
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=14))
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops > 0:  # behind a reverse proxy: trust its X-Forwarded-For/-Proto (rate limits and Secure depend on it)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _secure_instance(app: Flask) -> None:
    """instance/ readable by the app's user only (0700); the SQLite file and its journals 0600."""
    path = Path(app.instance_path)
    try:
        if path.is_dir():
            path.chmod(0o700)
    except OSError:
        pass
    url = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    if url.startswith("sqlite:///") and ":memory:" not in url:
        # SQLite creates its -wal and -shm files with the database file's permissions, so 0600 here covers them
        secure_database_file(url.removeprefix("sqlite:///"))


def secure_database_file(database: str) -> None:
    """Create (if missing) and restrict the SQLite file and its WAL/SHM companions to the owner."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = Path(database + suffix)
        try:
            if suffix == "" and not target.exists() and target.parent.is_dir():
                fd = os.open(target, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            if target.exists() and stat.S_IMODE(target.stat().st_mode) != 0o600:
                target.chmod(0o600)
        except OSError:
            continue


# ---------------------------------------------------------------- headers

SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _security_headers(response: Any) -> Any:
    """Each header unless the view set its own (one pass over the response's few headers)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    wanted = [pair for pair in SECURITY_HEADERS if pair[0].lower() not in present]
    if (request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https") \
            and HSTS[0].lower() not in present:
        wanted.append(HSTS)
    headers.extend(wanted)
    return response


# ---------------------------------------------------------------- input no page can use

def _has_nul(value: str) -> bool:
    return "\x00" in value


def _json_depth(text: str) -> int:
    """The deepest nesting of brackets in a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


class UnusableInput(BadRequest):
    """A 400 whose page says what was wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _refuse_unusable_input() -> None:
    """Refuse NUL bytes anywhere in a request and JSON nested beyond any real use, before a view sees them."""
    parts = [request.path]
    parts += [v for pair in request.args.items(multi=True) for v in pair]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            parts += [v for pair in request.form.items(multi=True) for v in pair]
        elif request.is_json:
            text = request.get_data(cache=True, as_text=True)
            if _json_depth(text) > MAX_JSON_DEPTH:
                raise UnusableInput(f"数据嵌套过深(超过 {MAX_JSON_DEPTH} 层)，请求未处理。")
            try:
                body = json.loads(text, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                raise UnusableInput("数据不是有效的 JSON，请求未处理。") from None
            if not isinstance(body, dict):  # every JSON endpoint (and Flask-WTF's JSON forms) takes an object
                raise UnusableInput("数据格式不对：应为 JSON 对象，请求未处理。")
            parts.append(text.replace("\\u0000", "\x00"))
    if any(_has_nul(p) for p in parts):
        raise UnusableInput("请求中含有不允许的空字符（\\0），请求未处理。")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


def bad_request_page(error: BadRequest) -> Any:
    """A 400 page (or JSON for scripts) with the reason when we know it."""
    message = getattr(error, "message", None) or "请求无法处理，请返回重试。"
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(ok=False, error=message), 400
    return render_template("error.html", code=400, title="请求有误", message=message), 400


# ---------------------------------------------------------------- rate limits

def _address() -> str:
    return get_remote_address() or "unknown"


def _login_account() -> str:
    from app.models.users import username_key

    return "login-account:" + username_key(request.form.get("username") or "")[:64]


def _answer_owner() -> str:
    """Whose answers these are, from the signed session cookie alone: loading the user here would add a query to
    every autosave (whose one statement checks the user itself)."""
    from app.practice.autosave import session_user

    who = session_user()
    if who is not None:
        return f"answers-user:{who[0]}"
    return "answers-guest:" + str(session.get("guest_key") or _address())


def _failed_form(response: Any) -> bool:
    """A login counts against the limits only when it failed (the form came back instead of a redirect)."""
    return bool(response.status_code == 200)


def _rate_limited(limit: RequestLimit) -> Any:
    message = "操作太频繁，请稍后再试。"
    if limit.key.startswith("LIMITER/login-account") or "login-account" in limit.key:
        message = "这个账号的登录失败次数过多，为保护账号已暂时锁定，请稍后再试。"
    g.rate_limit_message = message
    return None


def _init_rate_limits(app: Flask) -> None:
    """One limiter per app (memory by default, Redis when RATELIMIT_STORAGE_URI is set) on the endpoints below."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # several app processes share the limits through Redis (the job queue's REDIS_URL when no own URI is given)
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
                          or os.environ.get("REDIS_URL") or "crm-memory://")
    from app import ratelimit_memory  # noqa: F401  registers crm-memory:// (in-process counters without a timer thread)

    limiter = Limiter(key_func=_address, on_breach=_rate_limited)
    limiter.init_app(app)
    # Flask-Limiter also checks every request in a before_request hook, for application-wide and default limits;
    # this app has none (each limit below is on its view and checked by its decorator), so the hook only cost every
    # request time (Flask-Limiter 4 has no setting to leave it out)
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # (not installed when the limits are off)
        hooks.remove(limiter._check_request_limit)
    app.extensions["crm_limiter"] = limiter
    rules: list[tuple[str, list[Any]]] = [
        ("auth.login", [limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"], deduct_when=_failed_form, scope="login-ip"),
                        limiter.limit(LOGIN_PER_ACCOUNT, methods=["POST"], key_func=_login_account,
                                      deduct_when=_failed_form, scope="login-account")]),
        ("auth.register", [limiter.limit(REGISTER_PER_ADDRESS, methods=["POST"], scope="register")]),
        ("practice.start", [limiter.limit(GUEST_SETS_PER_ADDRESS, exempt_when=_signed_in, scope="guest-sets")]),
        ("practice.single", [limiter.limit(GUEST_SETS_PER_ADDRESS, exempt_when=_signed_in, scope="guest-sets")]),
    ]
    for endpoint, limits in rules:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view
    # answers (an exam's autosave at the bell is the busiest request there is) are counted by AnswersLimit below,
    # straight on the limiter's storage
    answers = AnswersLimit(limiter)
    for endpoint in ANSWER_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = answers.wrap(view)

    @app.errorhandler(429)
    def too_many_requests(error: Any) -> Any:
        message = g.get("rate_limit_message") or "操作太频繁，请稍后再试。"
        if isinstance(error, AnswersRefused):
            message = "提交答案太频繁，请稍后再试。"
        if request.is_json:
            response = jsonify(ok=False, error=message)
        else:
            response = current_app.make_response(
                render_template("error.html", code=429, title="请求太频繁", message=message))
        response.status_code = 429
        if isinstance(error, AnswersRefused):
            response.headers["Retry-After"] = str(error.retry_after)
        return response


def _answers_limit() -> str:
    """The answers limit (RATELIMIT_ANSWERS overrides it, e.g. for a test on a slow database)."""
    return str(current_app.config.get("RATELIMIT_ANSWERS") or ANSWERS_PER_STUDENT)


ANSWER_ENDPOINTS = frozenset({"practice.answer", "practice.exam_save"})


class AnswersLimit:
    """The per-student answers limit, counted with the ``limits`` library on the Flask-Limiter's own storage
    (memory, or Redis shared by every process).

    Flask-Limiter's request hooks, limit resolution and headers cost an autosave about a sixth of its time
    (scripts/bench/bench_autosave.py); this is one ``hit`` per window. A breach is a 429 with ``Retry-After`` and a
    Chinese message, like the other limits. If the storage cannot be reached, answers are let through (and logged):
    an unreachable Redis must not stop a class's exam.
    """

    def __init__(self, limiter: Limiter):
        self.limiter = limiter
        self._parsed: tuple[str, list[Any]] = ("", [])

    def _items(self) -> list[Any]:
        text = _answers_limit()
        if self._parsed[0] != text:
            from limits import parse_many

            self._parsed = (text, parse_many(text))
        return self._parsed[1]

    def check(self) -> None:
        if not self.limiter.enabled:
            return
        key = _answer_owner()
        try:
            strategy = self.limiter.limiter
            for item in self._items():
                if not strategy.hit(item, "answers", key):
                    reset = strategy.get_window_stats(item, "answers", key).reset_time
                    raise AnswersRefused(max(1, int(reset - time.time() + 0.999)))
        except AnswersRefused:
            raise
        except Exception:  # noqa: BLE001  (the storage is unreachable: never block an answer for it)
            current_app.logger.exception("答题频率限制的存储不可用，本次不限制")

    def wrap(self, view: Any) -> Any:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            self.check()
            return view(*args, **kwargs)

        return limited


class AnswersRefused(TooManyRequests):
    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def _signed_in() -> bool:
    return bool(current_user.is_authenticated)


# ---------------------------------------------------------------- visitors' leftovers

GUEST_KEEP_DAYS = 7


def cleanup_guest_work(days: int = GUEST_KEEP_DAYS) -> tuple[int, int]:
    """Delete visitors' practice sets and answers older than ``days`` (a visitor who registers keeps theirs)."""
    import sqlalchemy as sa

    from app.clock import now
    from app.extensions import db
    from app.models.practice import PracticeSet, ResponseRecord

    cutoff = now() - timedelta(days=days)
    answers = db.session.execute(sa.delete(ResponseRecord).where(
        ResponseRecord.user_id.is_(None), ResponseRecord.created_at < cutoff)).rowcount
    sets = db.session.execute(sa.delete(PracticeSet).where(
        PracticeSet.user_id.is_(None), PracticeSet.updated_at < cutoff)).rowcount
    db.session.commit()
    return int(sets or 0), int(answers or 0)


def register_security_cli(app: Flask) -> None:
    import click
    from flask.cli import with_appcontext

    @click.command("cleanup-guests")
    @click.option("--days", default=GUEST_KEEP_DAYS, show_default=True, help="保留最近几天的访客练习")
    @with_appcontext
    def cleanup_guests(days: int) -> None:
        """Delete visitors' (not signed-in) practice sets and answers older than --days."""
        sets, answers = cleanup_guest_work(days)
        click.echo(f"已删除 {sets} 个访客练习集、{answers} 条访客作答(早于 {days} 天)")

    app.cli.add_command(cleanup_guests)
