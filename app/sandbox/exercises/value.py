"""客户价值： value tiers of given customers with the management focus of each tier; CLV under stated rates."""

from __future__ import annotations

from datetime import date

from app.sandbox.exercises.base import Exercise, Field, Result, grade_number, money, pick, register, rng_for

TIERS = ("VIP", "主要", "普通", "小客户")
# The customer pyramid (seed 003): what each tier calls for.
FOCUS = {
    "keep": "重点保持：一对一关怀与优先资源，防止流失",
    "grow": "重点发展：提高购买份额，推动其升级为 VIP",
    "maintain": "一般维持：标准化服务，发掘升级潜力",
    "cut": "控制成本：低成本渠道服务，带来负值的果断淘汰",
}
RIGHT_FOCUS = {"VIP": "keep", "主要": "grow", "普通": "maintain", "小客户": "cut"}


@register
class ValueTiers(Exercise):
    key = "value_tiers"
    title = "客户价值分层与管理重点"
    topic = "客户价值"
    summary = "按贡献利润把客户分为 VIP/主要/普通/小客户，并说出每层的管理重点。"

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.analysis import View

        c = View(sandbox).customers
        rng = rng_for(sandbox, user_id, self.key, variant)
        chosen = []
        for tier in TIERS:
            chosen += pick(rng, c["id"][c["tier"] == tier], 1)
        rng.shuffle(chosen)
        return {"customers": [int(x) for x in chosen]}

    def prompt(self, params):
        ids = "、".join(f"{i} 号" for i in params["customers"])
        return ["按“贡献利润 = 订单金额 − 订单成本”（整个历史期）给全部客户排名：前 5% 为 VIP 客户，5%–20% 为主要客户，"
                "20%–50% 为普通客户，其余为小客户（利润相同按客户编号先后）。",
                f"（1）客户 {ids} 分别属于哪一层？（2）每一层客户的管理重点是什么？"]

    def fields(self, params, ctx=None):
        tier_options = [(t, t) for t in TIERS]
        out = [Field(f"tier_{cid}", f"客户 {cid} 的层级", "choice", tier_options) for cid in params["customers"]]
        focus_options = list(FOCUS.items())
        out += [Field(f"focus_{i}", f"{tier}客户的管理重点", "choice", focus_options) for i, tier in enumerate(TIERS)]
        return out

    def check(self, params, answer, truth, data):
        c = data.customers
        idx = data.index(params["customers"])
        lines, right_tiers = [], 0
        expected = {}
        for cid, i in zip(params["customers"], idx, strict=True):
            tier = str(c["tier"][i])
            expected[f"tier_{cid}"] = tier
            given = answer.get(f"tier_{cid}")
            rank = int((c["profit"] > c["profit"][i]).sum()) + 1
            if given == tier:
                right_tiers += 1
                lines.append(f"客户 {cid}:{tier} ✓（利润 {money(float(c['profit'][i]))}，排第 {rank} 名）。")
            else:
                lines.append(f"客户 {cid}：应为{tier}（你答 {given or '未填'}）；利润 {money(float(c['profit'][i]))},"
                             f"在 {c['id'].size} 位客户中排第 {rank} 名，即前 {rank / c['id'].size:.1%}。")
        right_focus = 0
        for i, tier in enumerate(TIERS):
            expected[f"focus_{i}"] = RIGHT_FOCUS[tier]
            given = answer.get(f"focus_{i}")
            if given == RIGHT_FOCUS[tier]:
                right_focus += 1
            else:
                lines.append(f"{tier}客户的管理重点应是“{FOCUS[RIGHT_FOCUS[tier]]}”"
                             f"（你选了“{FOCUS.get(given, '未选')}”）。")
        if right_focus == len(TIERS):
            lines.append("四个层级的管理重点全部正确：资源向高价值客户倾斜，对小客户控制成本（客户金字塔）。")
        score = 0.6 * right_tiers / len(params["customers"]) + 0.4 * right_focus / len(TIERS)
        return Result(score, lines, expected)


def _clv_factor(retention: float, discount: float, years: int, first_year_discounted: bool) -> float:
    from simulations.analytics import clv

    return clv(1.0, retention, discount, years, first_year_discounted)


@register
class LifetimeValue(Exercise):
    key = "clv"
    title = "计算客户终身价值（CLV）"
    topic = "客户价值"
    summary = "用客户近 12 个月的利润、保留率和折现率计算 CLV。"

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.analysis import View

        data = View(sandbox)
        c = data.customers
        rng = rng_for(sandbox, user_id, self.key, variant)
        pool = c["id"][(c["n_orders"] >= 3) & (c["stage"] != "已流失")]
        if pool.size == 0:
            pool = c["id"][c["n_orders"] > 0]
        customer = pick(rng, pool, 1)[0]
        as_of = data.as_of
        try:
            start = as_of.replace(year=as_of.year - 1)
        except ValueError:  # 29 February
            start = as_of.replace(year=as_of.year - 1, day=28)
        return {"customer": customer, "start": start.isoformat(), "end": as_of.isoformat(),
                "retention": float([0.6, 0.7, 0.75, 0.8, 0.85, 0.9][int(rng.integers(6))]),
                "discount": float([0.08, 0.1, 0.12][int(rng.integers(3))]), "years": int(rng.integers(3, 6))}

    def prompt(self, params):
        return [f"客户 {params['customer']} 号：以其在 {params['start']}（不含）至 {params['end']}（含）之间的贡献利润"
                f"（订单金额 − 订单成本）作为每年的利润 m。",
                f"假设年保留率 r = {params['retention']:.0%}，年折现率 d = {params['discount']:.0%}，计算未来 "
                f"{params['years']} 年的客户终身价值：CLV = Σ(t=1..{params['years']}) m · r^(t−1) / (1+d)^t"
                "（每年利润在年末到账）。",
                "以元为单位，误差 1% 以内得满分，5% 以内得一半分。按年初到账（除以（1+d）^（t−1））算出的结果也接受。"]

    def fields(self, params, ctx=None):
        return [Field("margin", "年利润 m（元）", "number"), Field("clv", "CLV（元）", "number")]

    def check(self, params, answer, truth, data):
        margin = data.profit_between(params["customer"], date.fromisoformat(params["start"]),
                                     date.fromisoformat(params["end"]))
        end = _clv_factor(params["retention"], params["discount"], params["years"], True)
        start = _clv_factor(params["retention"], params["discount"], params["years"], False)
        right, alt = margin * end, margin * start
        expected = {"margin": margin, "clv": round(right, 2)}
        given_m, given = answer.get("margin"), answer.get("clv")
        tol = max(abs(right) * 0.01, 0.5)
        lines = []
        m_score = grade_number(given_m, margin, max(abs(margin) * 0.005, 0.5), max(abs(margin) * 0.05, 1))
        if m_score == 1:
            lines.append(f"年利润 m = {money(margin)} ✓。")
        else:
            lines.append(f"年利润 m 应为 {money(margin)}（你答 {'未填' if given_m is None else money(given_m)}）："
                         "只算区间内订单的金额减成本，注意起止日期。")
        score = grade_number(given, right, tol, max(abs(right) * 0.05, 1))
        variant = grade_number(given, alt, max(abs(alt) * 0.01, 0.5), 0) == 1 and score < 1
        if variant:
            score = 1.0
            lines.append(f"CLV：你按年初到账计算得 {money(alt)}；按题设（年末到账）为 {money(right)}。两种时点假设都可以，"
                         "年初到账少折现一年，所以数值更大。")
        elif score == 1:
            lines.append(f"CLV = {money(right)} ✓（系数 Σ r^(t−1)/(1+d)^t = {end:.4f}）。")
        else:
            lines.append(f"CLV 应为 {money(right)}（你答 {'未填' if given is None else money(given)}）。"
                         f"逐年：{';'.join(self._years(margin, params))}。")
            if given is not None and margin and abs(given - margin * params['years']) < tol:
                lines.append("你似乎直接把 m 乘以年数：还要乘上留存概率 r^（t−1）并折现。")
        lines.append("终身价值随保留率上升而明显增加：这正是“客户流失率降低5%，利润增加25%~85%”的道理。")
        return Result(0.2 * m_score + 0.8 * score, lines, expected)

    @staticmethod
    def _years(margin: float, params: dict) -> list[str]:
        r, d = params["retention"], params["discount"]
        return [f"第{t}年 {margin * r ** (t - 1) / (1 + d) ** t:,.2f}" for t in range(1, params["years"] + 1)]

