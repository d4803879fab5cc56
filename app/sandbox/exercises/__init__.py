"""Sandbox exercises: one registry of checkers (see ``base``); importing this package registers them all."""

from app.sandbox.exercises import lifecycle, marketing, satisfaction, segmentation, value  # noqa: F401
from app.sandbox.exercises.base import REGISTRY, Exercise, Field, Result

# The order of the exercise list: segmentation, value, lifecycle, satisfaction, marketing.
ORDER = ("rfm_scores", "rfm_cell_count", "pareto_share", "value_tiers", "clv", "lifecycle_stage", "decline_customers",
         "segment_churn_rate", "member_retention", "satisfaction_repurchase", "complaint_handling", "association_rule",
         "campaign_budget")
for _key in sorted(REGISTRY, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
    REGISTRY[_key] = REGISTRY.pop(_key)

__all__ = ["REGISTRY", "Exercise", "Field", "Result"]
