"""The sandbox CRM: a generated company per class, worked in like a real CRM, with analytics, exercises and cases.

Data flow: instructor's parameters + seed -> ``simulations.generate`` -> bulk insert under one sandbox id
(``store``) -> pages read with SQL aggregates -> ``analysis`` (numpy, cached per sandbox version) -> exercise
checkers (``exercises``) compare students' answers with the analytics and the hidden truth.
"""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from app.sandbox import analysis_routes, cli, crm_routes, exercise_routes, hooks, routes, tasks  # noqa: E402,F401
