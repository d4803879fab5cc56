"""What practice adds to other pages: the due count on the home page, stars on item pages, guest adoption."""

import sqlalchemy as sa
from flask import request, session
from flask_login import current_user

from app.extensions import db
from app.models.practice import Star
from app.practice import bp
from app.practice.services import adopt_guest, close_expired, due_today


def _home_context():
    if not current_user.is_authenticated:
        return {}
    return {"due": due_today(current_user.id)}


def _item_context(item):
    if not current_user.is_authenticated:
        return {}
    starred = db.session.scalar(sa.select(Star.id).where(Star.user_id == current_user.id, Star.item_id == item.id))
    return {"starred": bool(starred)}


def _adopt(user):
    key = session.pop("guest_key", None)
    if not key:
        return 0
    n = adopt_guest(key, user.id)
    db.session.commit()
    return n


@bp.record_once
def _register(state):
    ext = state.app.extensions
    ext.setdefault("crm_home_hooks", []).append(_home_context)
    ext.setdefault("crm_item_hooks", []).append(_item_context)
    ext.setdefault("crm_login_hooks", []).append(_adopt)


@bp.before_app_request
def _close_abandoned_exams():
    """An attempt whose time ran out while its owner was away is graded on their next visit.

    Not on an autosave (one upsert and nothing else: a late autosave is refused and closes its own attempt), nor on
    a submit (it closes its own attempt and redirects to a page that runs this), nor on a static file.
    """
    if request.endpoint in ("practice.exam_save", "practice.exam_submit", "static"):
        return
    if current_user.is_authenticated and not current_user.is_instructor:
        close_expired(current_user.id)


@bp.app_template_filter("highlight")
def highlight(text, spans):
    """Escape a student's answer and mark the spans that matched key points."""
    from markupsafe import Markup, escape

    text = text or ""
    out, last = [], 0
    for start, end in sorted(spans or []):
        if start < last or end > len(text):
            continue
        out.append(str(escape(text[last:start])))
        out.append(f'<mark class="hit">{escape(text[start:end])}</mark>')
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out).replace("\n", "<br>"))  # noqa: S704 (every piece is escaped above)
