"""Authoring and administration (出题与管理): items, the keying queue, import/export, user accounts."""

from flask import Blueprint

bp = Blueprint("authoring", __name__, url_prefix="/manage")

from app.authoring import hooks, routes, transfer, users  # noqa: E402,F401
