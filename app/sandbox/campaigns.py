"""Students' campaigns: simulate the response of a segment (hidden propensity) against a random baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from app.charts import bar_chart
from app.extensions import db
from app.models.sandbox import Sandbox, SbCampaignRun, SbSegment
from app.sandbox import analysis, store
from app.sandbox import services as svc

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np


def campaign_seed(sandbox: Sandbox, user_id: int) -> int:
    """One seed per student and sandbox version: every campaign of a student meets the same customer responses
    (common random numbers), so two of their campaigns differ only in whom they contact."""
    return svc.stable_seed("campaign", sandbox.id, sandbox.version, user_id) % (2**63)


def pick_targets(sandbox: Sandbox, ids: np.ndarray, max_contacts: int | None) -> np.ndarray:
    """The segment, cut to the highest-revenue ``max_contacts`` customers when a cap is given."""
    import numpy as np

    if not max_contacts or ids.size <= max_contacts:
        return ids
    revenue = analysis.customers(sandbox)["revenue"][analysis.index_of(sandbox, ids)]
    keep = np.argsort(-revenue, kind="stable")[:max_contacts]
    return np.sort(ids[keep])


def simulate(sandbox: Sandbox, user_id: int, ids: np.ndarray, cost_per_contact: float,
             fixed_cost: float) -> dict[str, Any]:
    from simulations.analytics import random_baseline, simulate_campaign

    truth = svc.truth_of(sandbox)
    seed = campaign_seed(sandbox, user_id)
    campaign = simulate_campaign(truth, ids, cost_per_contact, fixed_cost, seed)
    baseline = random_baseline(truth, int(ids.size), cost_per_contact, fixed_cost, seed)
    return {"campaign": campaign, "baseline": baseline}


def run_campaign(sandbox: Sandbox, user_id: int, segment: SbSegment, name: str, channel: str,
                 cost_per_contact: float, fixed_cost: float, max_contacts: int | None) -> SbCampaignRun:
    everyone = svc.segment_customer_ids(sandbox, segment.filters)
    ids = pick_targets(sandbox, everyone, max_contacts)
    result = simulate(sandbox, user_id, ids, cost_per_contact, fixed_cost) if ids.size else {}
    result["segment_size"] = int(everyone.size)
    run = SbCampaignRun(sandbox_id=sandbox.id, user_id=user_id, segment_id=segment.id, name=name,
                        filters=dict(segment.filters), channel=channel, cost_per_contact=cost_per_contact,
                        fixed_cost=fixed_cost, result=result)
    db.session.add(run)
    db.session.flush()
    return run


def generated_campaigns(sandbox: Sandbox) -> list[Any]:
    return store.rows(sandbox, "SELECT * FROM campaigns ORDER BY sent_on, id")


def comparison_chart(run: SbCampaignRun) -> Markup | None:
    if not run.result.get("campaign"):
        return None
    c, b = run.result["campaign"], run.result["baseline"]
    return bar_chart([("本次活动 响应率", c["response_rate"]), ("随机对照 响应率", b["response_rate"])],
                     "响应率：目标客户 vs 随机抽取的同等人数", y_format="{:.1%}", y_label="响应率（%）")
