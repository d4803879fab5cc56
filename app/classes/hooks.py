"""What classes add to the rest of the site: the demo class created by ``flask setup``."""

from __future__ import annotations

from app.classes import bp
from app.classes.services import create_demo_class


@bp.record_once
def _register(state) -> None:
    state.app.extensions.setdefault("crm_demo_hooks", []).append(create_demo_class)
