"""Access rules shared by every blueprint: ``role_required('instructor')`` (admins pass everything)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from app.extensions import login_manager
from app.models.users import ROLES

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: str) -> Callable[[F], F]:
    """Let a view through for the given roles and admins; anonymous users go to the login page, others get 403."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"unknown roles: {sorted(unknown) or 'none given'}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def admin_required(view: F) -> F:
    """Only admins."""
    return role_required("admin")(view)


def class_or_404(class_id: int, manage: bool = False):
    """The class if the user teaches it or belongs to it (404 otherwise); 403 for a student where managing."""
    from app.extensions import db
    from app.models.classes import SchoolClass

    school_class = db.get_or_404(SchoolClass, class_id)
    if not school_class.can_view(current_user):
        abort(404)
    if manage and not school_class.can_manage(current_user):
        abort(403)
    return school_class
