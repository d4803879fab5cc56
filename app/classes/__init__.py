"""Classes (班级): instructors create them and share a join code; students join; rosters come from CSV."""

from flask import Blueprint

bp = Blueprint("classes", __name__, url_prefix="/classes")

from app.classes import hooks, routes  # noqa: E402,F401
