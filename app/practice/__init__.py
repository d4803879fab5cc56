from flask import Blueprint

bp = Blueprint("practice", __name__)

from app.practice import hooks, routes  # noqa: E402,F401
