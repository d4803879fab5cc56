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

REMEMBERED = 8192  # cookies per process; a few hundred bytes each
_SCALARS = (str, int, float, bool, type(None))


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}
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
        remembered = self._verified.get(value)
        if remembered is not None and time.time() <= remembered[1] + lifetime:
            return self.session_class(remembered[0])
        try:
            data, signed = serializer.loads(value, max_age=int(lifetime), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
            if len(self._verified) >= REMEMBERED:
                self._verified.clear()
            self._verified[value] = (dict(data), signed.timestamp())
        return self.session_class(data)
