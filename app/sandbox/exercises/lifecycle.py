"""客户生命周期： stages of given customers, customers in decline, churn rate of a segment, member retention."""

from __future__ import annotations

from app.sandbox.exercises.base import (
    Exercise,
    Field,
    Result,
    grade_number,
    pct,
    pick,
    register,
    rng_for,
)

STAGES = ("考察期", "形成期", "稳定期", "退化期", "已流失")
PROSPECT = "潜在客户"  # never bought in the history: a prospect (未转化), not a lost customer
STAGE_RULES = ("判断依据（课程：交易量在考察期较小，形成期快速增加，稳定期最大，退化期回落）："
               "已流失 = 已连续 3 个月以上无订单，且按其以往的购买频率，这么久不买的可能性低于 5%；"
               "考察期 = 获客不足 2 个月；形成期 = 获客（或流失后回归）不足 6 个月（回归客户 2 个月）；"
               "退化期 = 最近 3 个月的订单数不到其稳定水平所预期的一半（预期至少 3 单）；其余为稳定期。"
               "历史期内从未购买的是潜在客户（未转化），不算已流失。")


def _monthly_orders(data, customer_id: int) -> list[int]:
    """A customer's orders per month over the history (for feedback), counted in the sandbox's file."""
    from app.sandbox import store
    from app.sandbox.services import sandbox_months

    counts = {r.month: r.n for r in store.rows(
        data.sandbox, "SELECT strftime(ordered_on, '%Y-%m') AS month, count(*) AS n FROM orders "
                      "WHERE customer_id = ? GROUP BY month", [customer_id])}
    return [int(counts.get(m, 0)) for m in sandbox_months(data.sandbox)]


@register
class LifecycleStage(Exercise):
    key = "lifecycle_stage"
    title = "判断客户所处的生命周期阶段"
    topic = "客户生命周期"
    summary = "根据订单的月度变化判断四位客户处于考察期、形成期、稳定期、退化期还是已流失。"

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.analysis import View

        c = View(sandbox).customers
        rng = rng_for(sandbox, user_id, self.key, variant)
        stages = [s for s in STAGES if (c["stage"] == s).any()]
        rng.shuffle(stages)
        chosen = []
        for stage in stages[:4]:
            chosen += pick(rng, c["id"][c["stage"] == stage], 1)
        return {"customers": sorted(chosen), "as_of": View(sandbox).as_of.isoformat()}

    def prompt(self, params):
        ids = "、".join(f"{i} 号" for i in params["customers"])
        return [f"截至 {params['as_of']}，客户 {ids} 分别处于客户生命周期的哪个阶段？"
                "（在客户 360° 页面查看各月消费和获客日期）", STAGE_RULES]

    def fields(self, params, ctx=None):
        options = [(s, s) for s in (*STAGES, PROSPECT)]
        return [Field(f"stage_{cid}", f"客户 {cid} 的阶段", "choice", options) for cid in params["customers"]]

    def check(self, params, answer, truth, data):
        c = data.customers
        idx = data.index(params["customers"])
        true_stage = truth.get("stage") if isinstance(truth, dict) else None
        right = 0.0
        lines, expected = [], {}
        for cid, i in zip(params["customers"], idx, strict=True):
            inferred = str(c["stage"][i])
            expected[f"stage_{cid}"] = inferred
            hidden = str(true_stage[cid - 1]) if true_stage is not None else inferred
            given = answer.get(f"stage_{cid}")
            recent = _monthly_orders(data, cid)[-6:]
            trail = f"近 6 个月每月订单数 {recent}"
            if given == inferred:
                right += 1
                lines.append(f"客户 {cid}:{inferred} ✓（{trail}）。")
            elif given == hidden:
                right += 1
                lines.append(f"客户 {cid}：按可观察的数据规则推断为{inferred}，而模拟中该客户真实处于{hidden};"
                             f"你的判断与真实阶段一致，按正确计分（{trail}）。")
            else:
                lines.append(f"客户 {cid}：应为{inferred}（你答 {given or '未填'}）；{trail}。")
        n = len(params["customers"])
        if right < n:
            lines.append("区分要点：退化期看“交易量回落”（与自身稳定水平相比），已流失看“长期无交易且不符合其购买习惯”。")
        return Result(right / n, lines, expected)


@register
class DeclineCustomers(Exercise):
    key = "decline_customers"
    title = "找出处于退化期的客户"
    topic = "客户生命周期"
    summary = "在一组客户中找出交易量明显回落（退化期）的客户，以便主动挽留。"

    def make_params(self, sandbox, user_id, variant=0):
        import numpy as np

        from app.sandbox.analysis import View
        from app.sandbox.services import truth_of

        c = View(sandbox).customers
        true_stage = np.asarray((truth_of(sandbox) or {}).get("stage", c["stage"]))
        rng = rng_for(sandbox, user_id, self.key, variant)
        # candidates on whom the data rule and the simulation's truth agree, when there are enough of them
        both = (c["stage"] == "退化期") & (true_stage == "退化期")
        declining = pick(rng, c["id"][both if both.sum() >= 3 else c["stage"] == "退化期"], 3)
        steady = np.isin(c["stage"], ("稳定期", "形成期"))
        steady_true = steady & np.isin(true_stage, ("稳定期", "形成期"))
        others = pick(rng, c["id"][steady_true if steady_true.sum() >= 8 else steady], 8 - len(declining))
        return {"candidates": sorted(declining + others), "as_of": View(sandbox).as_of.isoformat()}

    def prompt(self, params):
        ids = "、".join(str(i) for i in params["candidates"])
        return [f"截至 {params['as_of']}，下列客户中哪些处于退化期（与自身稳定时期相比，最近 3 个月交易量明显回落）？"
                f"候选客户：{ids}。", STAGE_RULES,
                "评分以上面的数据规则为准；容差：某位客户按规则判断与模拟中该客户的真实阶段不一致时，"
                "选或不选都算对。按选错（多选或漏选）的人数扣分。"]

    def fields(self, params, ctx=None):
        return [Field("declining", "处于退化期的客户（可多选）", "multi",
                      [(str(i), f"客户 {i}") for i in params["candidates"]])]

    def check(self, params, answer, truth, data):
        c = data.customers
        idx = data.index(params["candidates"])
        true_stage = truth.get("stage") if isinstance(truth, dict) else None
        rule = {str(cid) for cid, i in zip(params["candidates"], idx, strict=True) if c["stage"][i] == "退化期"}
        real = ({str(cid) for cid in params["candidates"] if str(true_stage[cid - 1]) == "退化期"}
                if true_stage is not None else rule)
        must, either = rule & real, rule ^ real  # both say declining / the rule and the truth disagree
        chosen = set(answer.get("declining") or [])
        wrong = (chosen - must - either) | (must - chosen)
        score = max(0.0, 1.0 - len(wrong) / max(len(must | either), 1))
        lines = [f"按数据规则处于退化期的是：{'、'.join(sorted(rule, key=int)) or '无'}。"]
        for cid in sorted(either, key=int):
            i = data.index([int(cid)])[0]
            lines.append(f"客户 {cid}：按数据规则为{c['stage'][i]}，模拟中的真实阶段为{true_stage[int(cid) - 1]};"
                         "两者不一致，选或不选都算对。")
        for cid in sorted(chosen - must - either, key=int):
            i = data.index([int(cid)])[0]
            lines.append(f"客户 {cid} 不是退化期而是{c['stage'][i]}：近 6 个月每月订单 {_monthly_orders(data, int(cid))[-6:]}。")
        for cid in sorted(must - chosen, key=int):
            lines.append(f"漏选客户 {cid}：近 6 个月每月订单 {_monthly_orders(data, int(cid))[-6:]}，明显低于其稳定水平。")
        if score == 1:
            lines.append("全部找对。下一步：按价值分层决定先挽留谁，主动联系了解原因（而不是等客户打电话来）。")
        return Result(score, lines, {"declining": sorted(rule, key=int)})


SEGMENT_FIELDS = {"channel": "获客渠道", "kind": "客户类型", "city": "城市"}


@register
class SegmentChurnRate(Exercise):
    key = "segment_churn_rate"
    title = "计算某一细分客户群的流失率"
    topic = "客户生命周期"
    summary = "按获客渠道/客户类型/城市细分，计算流失率（推断阶段为“已流失”的客户占比）。"

    def make_params(self, sandbox, user_id, variant=0):
        import numpy as np

        from app.sandbox.analysis import View

        c = View(sandbox).customers
        rng = rng_for(sandbox, user_id, self.key, variant)
        field = ["channel", "kind", "city"][int(rng.integers(3))]
        values, counts = np.unique(c[field], return_counts=True)
        pool = values[counts >= 30] if (counts >= 30).any() else values[counts == counts.max()]
        return {"field": field, "value": str(pool[int(rng.integers(pool.size))])}

    def prompt(self, params):
        label = SEGMENT_FIELDS[params["field"]]
        return [f"在{label}为“{params['value']}”的全部客户中，流失率是多少？",
                "流失率 = 该细分中生命周期阶段为“已流失”的客户数 ÷ 该细分中有过购买的客户数"
                "（从未购买的是潜在客户，不在分母中）。阶段按下面的规则从订单数据判断。", STAGE_RULES,
                "以百分数作答，误差 ±0.5 个百分点内得满分，±2 个百分点内得一半分。"]

    def fields(self, params, ctx=None):
        return [Field("percent", "流失率（%）", "number")]

    def check(self, params, answer, truth, data):
        import numpy as np

        from simulations.analytics import churn_rate

        c = data.customers
        bought = c["stage"] != PROSPECT
        rates = churn_rate((c["stage"] == "已流失")[bought], c[params["field"]][bought])
        right = rates.get(params["value"], 0.0)
        overall = float((c["stage"][bought] == "已流失").mean())
        in_segment = (c[params["field"]] == params["value"]) & bought
        given = answer.get("percent")
        value = None if given is None else given / 100
        score = grade_number(value, right, 0.005, 0.02)
        label = SEGMENT_FIELDS[params["field"]]
        lines = [f"{label}“{params['value']}”有过购买的客户共 {int(in_segment.sum())} 位，其中已流失 "
                 f"{int((in_segment & (c['stage'] == '已流失')).sum())} 位，流失率 {pct(right)}(你答 {pct(value)})。",
                 f"全体客户的流失率为 {pct(overall)}：该细分{'高于' if right > overall else '低于'}平均水平。"]
        hidden = truth.get("churned") if isinstance(truth, dict) else None
        if hidden is not None:
            lines.append(f"（模拟中该细分的真实流失率为 {pct(float(np.asarray(hidden)[in_segment].mean()))},"
                         "数据推断与真实情况会有出入。）")
        if score < 1:
            lines.append("注意分母是该细分中有过购买的客户（潜在客户不算），分子是阶段为“已流失”的客户。")
        return Result(score, lines, {"percent": round(right * 100, 2)})


@register
class MemberRetention(Exercise):
    key = "member_retention"
    title = "会员（毕业季活动入会）与其他客户的流失率比较"
    topic = "关系营销"
    summary = "化妆品公司：比较通过“校园活动”入会的会员与其他客户的流失率，评价会员计划。"

    def available(self, data):
        return bool((data.customers["channel"] == "校园活动").sum() >= 10)

    def make_params(self, sandbox, user_id, variant=0):
        return {"channel": "校园活动"}

    def prompt(self, params):
        return ["案例中的公司每年为应届女毕业生举办表演会并请她们填写申请表入会。在沙盒里，获客渠道为“校园活动”的客户就是这些会员。",
                "分别计算“校园活动”会员与其他客户的流失率（有过购买的客户中阶段为“已流失”的占比），并判断会员计划是否提高了客户保持。",
                STAGE_RULES,
                "以百分数作答，误差 ±0.5 个百分点内得满分，±2 个百分点内得一半分。"]

    def fields(self, params, ctx=None):
        return [Field("members", "会员流失率（%）", "number"), Field("others", "其他客户流失率（%）", "number"),
                Field("verdict", "结论", "choice", [("lower", "会员流失率更低：会员计划有助于保持客户"),
                                                   ("same", "两者差不多：会员计划作用不明显"),
                                                   ("higher", "会员流失率更高：会员计划没有留住客户")])]

    def check(self, params, answer, truth, data):
        c = data.customers
        bought = c["stage"] != PROSPECT
        member = (c["channel"] == params["channel"]) & bought
        others = (c["channel"] != params["channel"]) & bought
        lost = c["stage"] == "已流失"
        rm, ro = float(lost[member].mean()), float(lost[others].mean())
        verdict = "lower" if rm < ro - 0.02 else ("higher" if rm > ro + 0.02 else "same")
        gm, go = (None if answer.get(k) is None else answer[k] / 100 for k in ("members", "others"))
        s1, s2 = grade_number(gm, rm, 0.005, 0.02), grade_number(go, ro, 0.005, 0.02)
        s3 = 1.0 if answer.get("verdict") == verdict else 0.0
        lines = [f"会员 {int(member.sum())} 位，流失率 {pct(rm)}（你答 {pct(gm)}）；其他客户 {int((~member).sum())} 位，"
                 f"流失率 {pct(ro)}（你答 {pct(go)}）。",
                 {"lower": "会员流失率更低：", "same": "两者相差不到 2 个百分点：", "higher": "会员流失率更高："}[verdict]
                 + ("申请表让公司掌握了客户信息，持续的优待把顾客“锁住”，实现了“把顾客忠诚化”。" if verdict == "lower"
                    else "还要结合会员的消费额与获客成本综合评价。")]
        if s3 < 1:
            lines.append("结论应以两组流失率的比较为依据（相差 2 个百分点以内视为差不多）。")
        return Result(0.35 * s1 + 0.35 * s2 + 0.3 * s3, lines,
                      {"members": round(rm * 100, 2), "others": round(ro * 100, 2), "verdict": verdict})
