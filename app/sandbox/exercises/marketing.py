"""数据库营销与数据挖掘： the strongest association rule; choosing campaign targets under a budget."""

from __future__ import annotations

import math

from app.sandbox.exercises.base import Exercise, Field, Result, grade_number, money, pct, register, rng_for


@register
class AssociationRule(Exercise):
    key = "association_rule"
    title = "找出最强的关联规则（购物篮分析）"
    topic = "数据库营销与数据挖掘"
    summary = "在满足最小支持度和置信度的规则中找出提升度最高的 A→B，并给出其提升度。"

    def available(self, data):
        return bool(data.rules(0.01, 0.2)["rules"])  # every student's thresholds leave at least one rule

    def make_params(self, sandbox, user_id, variant=0):
        rng = rng_for(sandbox, user_id, self.key, variant)
        support, confidence = [(0.005, 0.1), (0.01, 0.1), (0.005, 0.2), (0.01, 0.2)][int(rng.integers(4))]
        return {"min_support": support, "min_confidence": confidence}

    def prompt(self, params):
        return ["以订单为购物篮（一个订单中的商品算一次，不计数量），考虑“买了 A 的订单也买了 B”的规则 A→B：",
                "支持度 = 同时含 A 和 B 的订单数 ÷ 订单总数；置信度 = 同时含 A、B 的订单数 ÷ 含 A 的订单数；"
                "提升度 = 置信度 ÷（含 B 的订单数 ÷ 订单总数）。",
                f"在支持度 ≥ {params['min_support']:.1%}、置信度 ≥ {params['min_confidence']:.0%} 的规则中，"
                "哪条规则的提升度最高？给出 A、B 和提升度（误差 ±0.1 内得满分）。"]

    def fields(self, params, ctx=None):
        options = [(str(i), name) for i, name in (ctx or {}).get("products", {}).items()]
        return [Field("antecedent", "A（前项）", "choice", options), Field("consequent", "B（后项）", "choice", options),
                Field("lift", "提升度", "number")]

    def parse(self, params, form, ctx=None):
        return {"antecedent": (form.get("antecedent") or "").strip() or None,
                "consequent": (form.get("consequent") or "").strip() or None,
                "lift": super().parse(params, form, ctx).get("lift")}

    def check(self, params, answer, truth, data):
        result = data.rules(params["min_support"], params["min_confidence"])
        rules = result["rules"]
        if not rules:
            return Result(1.0, ["在这些门槛下没有任何规则；本题不计分。"], {})
        best = rules[0]
        from app.sandbox.analysis import product_names

        name = product_names(data.sandbox)
        a, b = answer.get("antecedent"), answer.get("consequent")
        expected = {"antecedent": str(best["antecedent"]), "consequent": str(best["consequent"]),
                    "lift": round(best["lift"], 3)}
        lift_score = grade_number(answer.get("lift"), best["lift"], 0.1, 0.5)
        described = (f"{best['antecedent_name']} → {best['consequent_name']}：支持度 {pct(best['support'], 2)}，"
                     f"置信度 {pct(best['confidence'])}，提升度 {best['lift']:.2f}")
        lines = []
        # the student's rule a -> b as mined (it is in the list when it clears both thresholds)
        mine = next((r for r in rules if str(r["antecedent"]) == a and str(r["consequent"]) == b), None)
        if a == str(best["antecedent"]) and b == str(best["consequent"]):
            rule_score = 1.0
            lines.append(f"规则正确：{described}。")
        elif mine is not None and a == str(best["consequent"]) and b == str(best["antecedent"]):
            reverse = mine
            rule_score = 1.0
            lines.append(f"你给出的是反方向的规则 {reverse['antecedent_name']} → {reverse['consequent_name']}:"
                         f"提升度与支持度相同（提升度对 A、B 对称），且其置信度 {pct(reverse['confidence'])} 也达到门槛，"
                         f"按正确计分。表中排在第一的是 {described}。")
        elif a == str(best["consequent"]) and b == str(best["antecedent"]):
            rule_score = 0.5
            lines.append(f"你给出的是最强规则的反方向：提升度相同，但它的置信度达不到 {params['min_confidence']:.0%} 的门槛，"
                         f"所以不算有效规则（得一半分）。最强的规则是 {described}。")
        else:
            rule_score = 0.0
            chosen = f"{name.get(int(a), a) if a and a.isdigit() else '未选'} → " \
                     f"{name.get(int(b), b) if b and b.isdigit() else '未选'}"
            lines.append(f"最强的规则是 {described}；你选的是 {chosen}。")
            lines.append("做法：先数出每种商品出现在多少订单中，再数两两同时出现的订单数，按定义算出支持度、置信度、提升度，"
                         "去掉不达门槛的规则后按提升度排序。")
        if lift_score < 1:
            lines.append(f"提升度应为 {best['lift']:.2f}（你答 {answer.get('lift')}）：提升度 > 1 说明买 A 会提高买 B 的可能。")
        planted = truth.get("rules") if isinstance(truth, dict) else None
        if planted and rule_score == 1:
            lines.append("这正是数据里“埋下”的购买习惯（如沃尔玛的“啤酒与尿布”）：可据此调整陈列、捆绑促销和交叉销售。")
        return Result(0.7 * rule_score + 0.3 * lift_score, lines, expected)


@register
class CampaignBudget(Exercise):
    key = "campaign_budget"
    title = "有限预算下选择营销活动的目标客户"
    topic = "数据库营销与数据挖掘"
    summary = "用一个细分做营销活动，与随机抽取同样人数相比，看投资回报率（ROI）提高了多少。"

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.forms import CAMPAIGN_CHANNELS

        rng = rng_for(sandbox, user_id, self.key, variant)
        channel = ["短信", "电话", "直邮", "邮件", "微信"][int(rng.integers(5))]
        per_contact, fixed = CAMPAIGN_CHANNELS[channel]
        n = int(sandbox.params.get("n_customers") or 2000)
        contacts = int(max(20, round(n * float(rng.choice([0.05, 0.08, 0.1])))))
        budget = math.ceil(fixed + per_contact * contacts)
        return {"channel": channel, "per_contact": per_contact, "fixed": fixed, "budget": budget,
                "max_contacts": int((budget - fixed) // per_contact) if per_contact else contacts}

    def prompt(self, params):
        return [f"预算 {money(params['budget'])}，渠道“{params['channel']}”：固定成本 {money(params['fixed'])}，"
                f"每触达一位客户 {money(params['per_contact'])}，所以最多触达 {params['max_contacts']} 位客户。",
                "先在“客户”页用筛选条件保存一个细分（例如按城市、客户类型；RFM、价值层级、生命周期的筛选在相关练习"
                "提交后可用），再在这里选它作为目标。"
                "细分人数超过预算时，从中随机抽取能负担的人数（所以细分本身要选准、人数要合适）。",
                "评分看预期 ROI =（预期响应收入 − 成本）÷ 成本：与随机联系同样人数相比，你的提升达到"
                "“最优名单”可能提升的一半即得满分，按比例给分。"]

    def fields(self, params, ctx=None):
        options = [(str(s.id), s.name) for s in (ctx or {}).get("segments", [])]
        hint = "" if options else "你还没有细分：先在“客户”页设好筛选条件，点“保存细分”，再回到本题。"
        return [Field("segment", "目标细分（在“客户”页保存）", "choice", options, hint=hint)]

    def parse(self, params, form, ctx=None):
        from app.sandbox.services import segment_customer_ids

        segment = next((s for s in (ctx or {}).get("segments", []) if str(s.id) == form.get("segment")), None)
        if segment is None:
            return {"segment": None, "targets": []}
        ids = segment_customer_ids(segment.sandbox, segment.filters)
        return {"segment": segment.name, "filters": segment.filters, "segment_size": int(ids.size),
                "targets": [int(x) for x in ids]}

    def check(self, params, answer, truth, data):
        import numpy as np

        from simulations.analytics import simulate_campaign

        ids = np.unique(np.asarray(answer.get("targets") or [], dtype="int64"))
        cut = ids.size > params["max_contacts"]
        if cut:  # over budget: a seeded random draw of what the budget pays for
            rng = np.random.default_rng(int(params["budget"]) * 7919 + ids.size)
            ids = np.sort(rng.choice(ids, params["max_contacts"], replace=False))
        if ids.size == 0:
            return Result(0.0, ["没有选择细分，或所选细分中没有客户。"], {})
        propensity = np.asarray(truth["propensity"], dtype=float)
        value = np.asarray(truth["response_value"], dtype=float)
        expected_value = propensity * value
        cost = params["fixed"] + params["per_contact"] * ids.size
        mine = float(expected_value[ids - 1].sum())
        roi = (mine - cost) / cost
        random_roi = (float(expected_value.mean()) * ids.size - cost) / cost
        k = min(params["max_contacts"], expected_value.size)
        best_ids = np.argsort(-expected_value, kind="stable")[:k]
        best_cost = params["fixed"] + params["per_contact"] * k
        best_roi = (float(expected_value[best_ids].sum()) - best_cost) / best_cost
        gap = best_roi - random_roi
        score = 0.0 if gap <= 0 else float(np.clip((roi - random_roi) / (0.5 * gap), 0.0, 1.0))
        sim = simulate_campaign(truth, ids, params["per_contact"], params["fixed"],
                                seed=int(params["budget"]) * 7919 + ids.size)
        lines = [f"联系 {ids.size} 位客户（细分“{answer.get('segment')}”共 {answer.get('segment_size')} 位"
                 + ("，超出预算，随机抽取" if cut else "") + f"），成本 {money(cost)}。",
                 f"预期 ROI：你的名单 {roi:.0%}；随机联系同样人数 {random_roi:.0%}；按真实响应倾向挑出的最优名单 {best_roi:.0%}。",
                 f"一次模拟结果：{sim['responders']} 人响应（响应率 {pct(sim['response_rate'])}），收入 {money(sim['revenue'])},"
                 f"ROI {sim['roi']:.0%}。"]
        if score >= 1:
            lines.append("很好：名单明显优于随机联系。RFM 高分、近期活跃的客户更可能响应，这就是数据库营销省钱的道理。")
        elif roi > random_roi:
            lines.append("比随机联系好，但还有空间：试着优先最近购买、购买频繁、消费高的客户（R、F、M 高分），避开已流失客户。")
        else:
            lines.append("没有比随机联系更好：名单里可能有很多已流失或很少购买的客户。")
        return Result(score, lines, {"roi": round(roi, 4), "random_roi": round(random_roi, 4),
                                     "best_roi": round(best_roi, 4)})
