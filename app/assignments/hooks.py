"""What assignments add to the rest of the site: the quiz kind, the home page list, the CLI."""

from __future__ import annotations

import re

import click
from flask import current_app, url_for
from flask_login import current_user

from app.assignments import bp
from app.assignments.kinds import register as register_quiz
from app.assignments.services import STATUS_LABELS, class_assignments, kind_of, phase, status_of, student_assignments
from app.assignments.statistics import apply_flags, bank_statistics
from app.extensions import db
from app.models.classes import SchoolClass


def _home_context():
    """The student's open and upcoming assignments (and those just overdue) for the home page."""
    if not current_user.is_authenticated:
        return {}
    rows = student_assignments(current_user.id)
    return {"assignments": rows} if rows else {}


@bp.record_once
def _register(state) -> None:
    register_quiz(state.app)
    state.app.extensions.setdefault("crm_home_hooks", []).append(_home_context)


@bp.app_template_global("class_assignments_summary")
def class_assignments_summary(class_id: int) -> dict:
    """A class's assignments for the class page's block: link, kind, close time, and a student's own status."""
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None or not school_class.can_view(current_user):
        return {"rows": [], "manage": False}
    manage = school_class.can_manage(current_user)
    rows = []
    for a in class_assignments(class_id):
        kind = kind_of(a)
        if kind is None:
            continue
        state = None
        if not manage:
            state = status_of(a, current_user.id, kind)
            if state != "submitted" and phase(a) == "closed":
                state = "overdue"
        rows.append({"assignment": a, "kind": kind.label, "url": kind.student_url(a), "phase": phase(a),
                     "status": STATUS_LABELS.get(state) if state else None, "state": state})
    return {"rows": rows, "manage": manage}


@bp.app_template_global("class_page_url")
def class_page_url(class_id: int) -> str:
    """The classes feature's page of a class (found in the URL map: /classes/<id>), else our assignment list."""
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("classes.") and re.fullmatch(r"/classes/<(?:int:)?\w+>/?", rule.rule) \
                and "GET" in (rule.methods or ()) and len(rule.arguments) == 1:
            return url_for(rule.endpoint, **{next(iter(rule.arguments)): class_id})
    return url_for("assignments.class_list", class_id=class_id)


@bp.cli.command("flag-items")
def flag_items_command() -> None:
    """Flag items whose discrimination is negative or below 0.1 (at least 5 answers) for the keying queue."""
    flagged = apply_flags(bank_statistics())
    db.session.commit()
    for item in flagged:
        click.echo(f"{item.uid}: {item.flagged}")
    click.echo(f"共标记 {len(flagged)} 道题。")
