"""Flask extensions, created unbound and initialised by the factory.

Flask-Migrate is not here: it imports Alembic (a third of the start-up time) and only the migration commands and
``upgrade()`` need it, so the factory sets it up on first use (``app.__init__.LazyExtensions``).
"""

import hmac

from flask import current_app, g, request, session
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect as _CSRFProtect
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.sessions import Verified

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CSRFProtect(_CSRFProtect):
    """Flask-WTF's CSRF protection, quicker on the requests a page's script repeats (an exam's autosaves).

    - A request that is not a form has its token read from the header without parsing a form body first.
    - Each process remembers the signed tokens it has verified (for the secret key that signed them, until their time
      limit): a remembered token that still matches the session's raw token passes without verifying its signature
      again, which is what verifying it would conclude. Over HTTPS (the referrer check) and on any doubt the request
      goes through Flask-WTF's own check.
    """

    def __init__(self, app=None):  # type: ignore[no-untyped-def]
        self._verified = Verified()  # (secret key, signed token) -> raw token
        super().__init__(app)

    def _get_csrf_token(self):  # type: ignore[no-untyped-def]
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for header in current_app.config["WTF_CSRF_HEADERS"]:
                token = request.headers.get(header)
                if token:
                    return token
        return super()._get_csrf_token()

    def protect(self, apply_exemptions=False):  # type: ignore[no-untyped-def]
        config = current_app.config
        if request.is_secure or request.method not in config["WTF_CSRF_METHODS"]:
            return super().protect(apply_exemptions)
        token = self._get_csrf_token()
        secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        expected = session.get(config["WTF_CSRF_FIELD_NAME"])
        remembered = self._verified.get((secret, token), config["WTF_CSRF_TIME_LIMIT"]) \
            if token and isinstance(expected, str) else None
        if remembered is not None and hmac.compare_digest(remembered, expected):
            g.csrf_valid = True
            return None
        super().protect(apply_exemptions)
        if token and g.get("csrf_valid"):  # verified just now (an exempt view verifies nothing)
            raw, signed = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(token, return_timestamp=True)
            self._verified.put((secret, token), raw, signed.timestamp())
        return None


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
csrf = CSRFProtect()
