"""What authoring adds to other pages: the instructor's panel on an item page (versions, who keyed it)."""

from __future__ import annotations

from flask_login import current_user

from app.authoring import bp
from app.extensions import db
from app.models import Item, User


def _item_panel(item: Item) -> dict:
    if not (current_user.is_authenticated and current_user.is_instructor):
        return {}
    keyed_by = db.session.get(User, item.keyed_by_id) if item.keyed_by_id else None
    return {"authoring_panel": {"versions": len(item.versions), "keyed_by": keyed_by, "keyed_at": item.keyed_at}}


@bp.record_once
def _register(state) -> None:
    state.app.extensions.setdefault("crm_item_hooks", []).append(_item_panel)
