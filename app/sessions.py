"""Flask's signed-cookie sessions, opened without verifying the same cookie again and again.

A student's browser sends the same session cookie with every autosave of an exam; verifying its signature and
decoding it (itsdangerous: HMAC, base64, JSON) was a tenth of an autosave's time (scripts/bench/bench_autosave.py).
Each process remembers the cookies it has verified, with their signing time: a remembered cookie opens to a copy of
its data while it is younger than the session lifetime, exactly what verifying it again would give. Only sessions
whose values are all plain scalars are remembered (a list in a session, such as pending flash messages, is changed
in place by its request and must not be shared). Anything else goes through Flask's own code.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

_SCALARS = (str, int, float, bool, type(None))


class Verified:
    """Signed values this process has verified: what each one decoded to and when it was signed (at most ``size``,
    forgotten all at once when full). Shared by the session cookies here and the CSRF tokens (app/extensions.py)."""

    def __init__(self, size: int = 8192) -> None:  # a few hundred bytes each
        self.size, self._items = size, dict[Any, tuple[Any, float]]()

    def get(self, key: Any, max_age: float | None) -> Any:
        """What ``key`` decoded to, if remembered and signed no more than ``max_age`` seconds ago (None or 0: any
        age), as itsdangerous's ``max_age`` would accept it; else None."""
        found = self._items.get(key)
        if found is None or (max_age and time.time() - found[1] > max_age):
            return None
        return found[0]

    def put(self, key: Any, value: Any, signed_at: float) -> None:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = (value, signed_at)

    def clear(self) -> None:
        self._items.clear()


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._verified = Verified()
        self._serializer: tuple[Any, URLSafeTimedSerializer | None] = (None, None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._serializer[0] != keys:  # built once per key (Flask builds one per request)
            self._serializer = (keys, super().get_signing_serializer(app))
            self._verified.clear()
        return self._serializer[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        lifetime = app.permanent_session_lifetime.total_seconds()
        remembered = self._verified.get(value, int(lifetime))
        if remembered is not None:
            return self.session_class(remembered)
        try:
            data, signed = serializer.loads(value, max_age=int(lifetime), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
            self._verified.put(value, dict(data), signed.timestamp())
        return self.session_class(data)
