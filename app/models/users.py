"""Accounts and roles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db, login_manager
from app.models.base import utcnow

ROLES = {"student": "学生", "instructor": "教师", "admin": "管理员"}


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, index=True)
    # the username folded to lower case: unique, so DEMO_TEACHER cannot exist beside demo_teacher
    username_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16), default="student", index=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # part of every session and remember cookie: raising it (logout, new password) ends them all
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __table_args__ = (sa.CheckConstraint("role in ('student', 'instructor', 'admin')", name="role"),)

    @validates("username")
    def _fold_username(self, _key: str, value: str) -> str:
        self.username_key = username_key(value)
        return value

    def set_password(self, password: str) -> None:
        """Store a new password hash; every existing session and remember cookie of the user ends."""
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.end_sessions()

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 1) + 1

    def get_id(self) -> str:
        """The session identifier: id and session version, so an older cookie no longer loads the user."""
        return f"{self.id}.{self.session_version or 1}"

    @classmethod
    def by_username(cls, username: str) -> User | None:
        """Find an account by username, ignoring case."""
        return db.session.scalar(sa.select(cls).where(cls.username_key == username_key(username)))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_instructor(self) -> bool:
        return self.role in ("instructor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def name(self) -> str:
        return self.display_name or self.username


def username_key(username: str) -> str:
    return (username or "").strip().lower()


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session or remember cookie whose version is still current."""
    user_id, _, version = (session_id or "").partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or (user.session_version or 1) != int(version):
        return None
    return user
