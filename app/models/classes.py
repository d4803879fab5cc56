"""Classes (班级) and their members. Assignments and gradebook tables live beside them."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow
from app.models.users import User

JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud in class


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(6))


class SchoolClass(db.Model):
    __tablename__ = "school_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    join_code: Mapped[str] = mapped_column(sa.String(12), unique=True, default=new_join_code)
    instructor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    instructor: Mapped[User] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="school_class", cascade="all, delete-orphan")

    def has_member(self, user: User) -> bool:
        return any(m.user_id == user.id for m in self.memberships)

    def can_manage(self, user: User) -> bool:
        return user.is_authenticated and (user.is_admin or self.instructor_id == user.id)

    def can_view(self, user: User) -> bool:
        return self.can_manage(user) or (user.is_authenticated and self.has_member(user))


class Membership(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    student_number: Mapped[str] = mapped_column(sa.String(40), default="")
    joined_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    school_class: Mapped[SchoolClass] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("class_id", "user_id"),)


class ClassInvitation(db.Model):
    """A roster row that matched an existing account: the account joins only when its owner accepts."""

    __tablename__ = "class_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    student_number: Mapped[str] = mapped_column(sa.String(40), default="")
    name: Mapped[str] = mapped_column(sa.String(64), default="")  # the name on the instructor's roster
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()

    __table_args__ = (sa.UniqueConstraint("class_id", "user_id"),)


def classes_of(user: User) -> list[SchoolClass]:
    """The classes a user teaches (all for an admin) or belongs to."""
    if not user.is_authenticated:
        return []
    if user.is_admin:
        return list(db.session.scalars(sa.select(SchoolClass).order_by(SchoolClass.id)))
    taught = sa.select(SchoolClass.id).where(SchoolClass.instructor_id == user.id)
    joined = sa.select(Membership.class_id).where(Membership.user_id == user.id)
    return list(db.session.scalars(sa.select(SchoolClass).where(
        sa.or_(SchoolClass.id.in_(taught), SchoolClass.id.in_(joined))).order_by(SchoolClass.id)))
