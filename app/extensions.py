"""Flask extensions, created unbound and initialised by the factory.

Flask-Migrate is not here: it imports Alembic (a third of the start-up time) and only the migration commands and
``upgrade()`` need it, so the factory sets it up on first use (``app.__init__.LazyExtensions``).
"""

from flask import current_app, request
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect as _CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

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
    """Flask-WTF's CSRF protection; a request that is not a form (the pages' JSON autosaves) has its token read from
    the header without parsing a form body first (a tenth of the check's time on an autosave)."""

    def _get_csrf_token(self):  # type: ignore[no-untyped-def]
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for header in current_app.config["WTF_CSRF_HEADERS"]:
                token = request.headers.get(header)
                if token:
                    return token
        return super()._get_csrf_token()


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
csrf = CSRFProtect()
