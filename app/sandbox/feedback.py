"""What a student sees after submitting an exercise: the method while they can still try, the numbers when done.

A wrong answer's full feedback names the right figures; pasted back, it would score full marks. So while the student
can still submit the same parameters (attempts left in an open assignment), a wrong answer gets only the method
(``METHODS``) and its score; the full feedback comes once the answer is right, the attempts are used up or the
assignment has closed — and only as the assignment's feedback policy allows (like quizzes: after_submit,
after_close, never). In practice (no assignment) the method comes first and the full worked answer sits behind a
"查看解析" disclosure the student opens deliberately (practice is not graded; "换一组参数" gives new numbers).
"""

from __future__ import annotations

from typing import Any

# exercise key -> how to get the answer, without the answer
METHODS: dict[str, list[str]] = {
    "rfm_scores": ["先求每位客户的 R（最近一次购买距基准日的天数）、F（订单数）、M（消费金额合计）。",
                   "分别排序后按名次等分五组打 1–5 分：R 越近分越高，F、M 越大分越高；看的是名次，不是绝对数值。"],
    "rfm_cell_count": ["给每位客户算出 R、F、M 三个得分（五分位），再数三个得分同时等于题目单元格的客户。",
                       "检查：每个得分的五组人数应大致相等；说明是否把从未购买的客户算进排名。"],
    "pareto_share": ["按消费金额从高到低排序，取前 p% × 客户数（四舍五入）位客户，把他们的金额合计除以全部收入。",
                     "注意分母是全部收入；客户数用全部客户还是只用有过购买的客户，两种口径都接受，但要说明。"],
    "value_tiers": ["贡献利润 = 订单金额 − 订单成本（整个历史期），按利润从高到低给全部客户排名。",
                    "前 5% 为 VIP,5%–20% 为主要客户，20%–50% 为普通客户，其余为小客户；管理重点按客户金字塔分配资源。"],
    "clv": ["CLV = 各年利润 × 保留率的累积 ÷ 折现因子之和；先确定年利润、保留率、折现率和年数，再逐年相加。",
            "注意第一年是否折现，按题目说明。"],
    "lifecycle_stage": ["逐月数出客户的订单数，和获客日期一起看：交易量在考察期较小，形成期快速增加，稳定期最大，退化期回落。",
                        "已流失 = 连续 3 个月以上无订单且按其以往频率不太可能；历史期内从未购买的是潜在客户，不是流失。"],
    "decline_customers": ["对每位候选客户，比较最近 3 个月的订单数与其稳定时期的月均水平 × 3：不到一半的是退化期。",
                          "不要把很久没买的（已流失）或刚开始买的（考察期、形成期）算进来。"],
    "segment_churn_rate": ["先按阶段规则判断该细分中每位有过购买的客户是否已流失，再用已流失人数 ÷ 有过购买的客户数。",
                           "从未购买的是潜在客户，既不在分子也不在分母。"],
    "member_retention": ["分别在会员和其他客户（都只算有过购买的客户）中数出已流失的人数，各自除以组内人数，再比较两组。"],
    "complaint_handling": ["把投诉过的客户按“对处理满意 / 不满意”分成两组，分别算出已流失的比例，再比较。"],
    "association_rule": ["以订单为购物篮：数出每种商品出现在多少订单中，再数两两同时出现的订单数。",
                         "按定义算支持度、置信度、提升度，去掉不达门槛的规则后按提升度排序；提升度相同时取置信度高的方向。"],
    "campaign_budget": ["优先最近购买、购买频繁、消费高的客户（R、F、M 高分），避开已流失和很少购买的客户；人数不要超过预算。"],
    "satisfaction_repurchase": ["c = b ÷ a；把调查按 c ≥ 1（满意）与 c < 1（不满意）分组，"
                                "看每组在调查后 180 天内是否再次下单，算出各组的复购比例。"],
}
GENERIC_METHOD = ["对照题目中的定义逐步计算，先在少量客户上核对，再推广到全部客户。"]


def method_lines(key: str) -> list[str]:
    return METHODS.get(key, GENERIC_METHOD)


def mode(latest: Any, assignment: Any, blocked: str | None, phase: str | None) -> str:
    """How to show the latest attempt: "full", "method" (score and method only), "score" or "later".

    ``blocked`` says the student cannot submit again; ``phase`` is the assignment's (open/closed/upcoming).
    """
    if latest is None:
        return "full"
    correct = latest.score >= 0.999
    if assignment is None:
        return "full" if correct else "method"
    policy = assignment.feedback_policy
    if policy == "never":
        return "score"
    if policy == "after_close":
        return "full" if phase == "closed" else "later"
    final = correct or bool(blocked) or phase == "closed"
    return "full" if final else "method"
