"""客户满意与忠诚 / 客户服务： c = b/a and repurchase; complaint handling and churn （可口可乐）."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.sandbox.analysis import REPURCHASE_DAYS
from app.sandbox.exercises.base import Exercise, Field, Result, grade_number, pct, register, rng_for

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

RELATION = [("positive", "满意度越高，复购率越高"), ("none", "满意度与复购没有明显关系"),
            ("negative", "满意度越高，复购率反而越低")]


@register
class SatisfactionRepurchase(Exercise):
    key = "satisfaction_repurchase"
    title = "满意度 c=b/a 与复购"
    topic = "客户满意与忠诚"
    summary = "计算一份调查的满意度 c=b/a，比较满意（c≥1）与不满意（c<1）客户的复购率。"

    def available(self, data):
        s = data.satisfaction()
        sel = s["observable"]
        return bool((sel & (s["c"] >= 1)).sum() >= 5 and (sel & (s["c"] < 1)).sum() >= 5)

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.analysis import View

        s = View(sandbox).satisfaction()
        rng = rng_for(sandbox, user_id, self.key, variant)
        pool = s["id"][s["observable"]] if s["observable"].any() else s["id"]
        return {"survey": int(pool[int(rng.integers(pool.size))]), "days": REPURCHASE_DAYS,
                "as_of": View(sandbox).as_of.isoformat()}

    def prompt(self, params):
        return [f"（1）满意度调查第 {params['survey']} 号：客户的期望为 a，实际感知为 b，满意度 c = b/a 是多少？（保留两位小数）",
                f"（2）只看调查日至基准日 {params['as_of']} 已满 {params['days']} 天的调查：调查后 {params['days']} 天内"
                "（不含调查当天）又下过订单的，算作“复购”。分别计算 c ≥ 1（满意）与 c < 1（不满意）的调查中复购的比例。",
                "（3）满意度与复购是什么关系？  比例以百分数作答，误差 ±1 个百分点内得满分，±3 个百分点内得一半分。"]

    def fields(self, params, ctx=None):
        return [Field("c", "c = b/a", "number"), Field("high", "c ≥ 1 的复购率（%）", "number"),
                Field("low", "c < 1 的复购率（%）", "number"), Field("relation", "关系", "choice", RELATION)]

    def check(self, params, answer, truth, data):
        import numpy as np

        s = data.satisfaction()
        i = int(np.flatnonzero(s["id"] == params["survey"])[0])
        a, b = float(s["expectation_a"][i]), float(s["perception_b"][i])
        c = b / a
        sel = s["observable"]
        high, low = sel & (s["c"] >= 1), sel & (s["c"] < 1)
        rate_high = float(s["repurchased"][high].mean()) if high.any() else 0.0
        rate_low = float(s["repurchased"][low].mean()) if low.any() else 0.0
        relation = "positive" if rate_high > rate_low + 0.02 else ("negative" if rate_high < rate_low - 0.02 else "none")
        sc = grade_number(answer.get("c"), c, 0.006, 0.02)
        gh, gl = (None if answer.get(k) is None else answer[k] / 100 for k in ("high", "low"))
        sh, sl = grade_number(gh, rate_high, 0.01, 0.03), grade_number(gl, rate_low, 0.01, 0.03)
        sr = 1.0 if answer.get("relation") == relation else 0.0
        lines = [f"(1)a = {a:g},b = {b:g},c = b/a = {c:.2f}（你答 {answer.get('c')}）"
                 + ("✓。" if sc == 1 else ";c>1 表示感知超过期望（满意），c<1 表示不满意。"),
                 f"（2）满意的 {int(high.sum())} 份调查中复购 {pct(rate_high)}（你答 {pct(gh)}）；不满意的 {int(low.sum())} 份中"
                 f"复购 {pct(rate_low)}（你答 {pct(gl)}）。",
                 f"(3){dict(RELATION)[relation]}" + ("✓" if sr == 1 else f"（你选了“{dict(RELATION).get(answer.get('relation'), '未选')}”）")
                 + "。满意是忠诚的前提：满意的客户更可能重复购买，但满意不等于忠诚。"]
        if sh < 1 or sl < 1:
            lines.append("复购的分母是该组“观察期已满”的调查份数，分子是其中调查后规定天数内又下单的份数。")
        return Result(0.25 * sc + 0.25 * sh + 0.25 * sl + 0.25 * sr, lines,
                      {"c": round(c, 3), "high": round(rate_high * 100, 2), "low": round(rate_low * 100, 2),
                       "relation": relation})


def _last_closed(data) -> tuple[np.ndarray, np.ndarray]:
    """Customers with a closed ticket and whether their latest closed ticket was handled to their satisfaction."""
    import numpy as np

    t = data.tickets()
    closed = t["status"] != "处理中"
    order = np.lexsort((t["id"][closed], t["day"][closed], t["customer_id"][closed]))
    cust = t["customer_id"][closed][order]
    satisfied = t["satisfied_with_handling"][closed][order] == 1
    last = np.r_[cust[1:] != cust[:-1], True] if cust.size else np.zeros(0, dtype=bool)
    return cust[last], satisfied[last]


@register
class ComplaintHandling(Exercise):
    key = "complaint_handling"
    title = "投诉处理满意与否对客户流失的影响"
    topic = "客户服务与沟通"
    summary = "可口可乐调查：比较对投诉处理满意与不满意的客户的流失率。"

    def available(self, data):
        _cust, satisfied = _last_closed(data)
        return bool(satisfied.sum() >= 5 and (~satisfied).sum() >= 5)

    def make_params(self, sandbox, user_id, variant=0):
        return {}

    def prompt(self, params):
        return ["在“服务工单”中，状态为“已解决”或“已关闭未解决”的工单是已关闭的工单。把有已关闭工单的客户按其"
                "最近一次已关闭工单的“对处理是否满意”分成两组。",
                "分别计算两组客户的流失率（生命周期阶段为“已流失”的占比），并与案例中的调查结论对照。",
                "以百分数作答，误差 ±1 个百分点内得满分，±3 个百分点内得一半分。"]

    def fields(self, params, ctx=None):
        return [Field("satisfied", "对处理满意的客户流失率（%）", "number"),
                Field("unsatisfied", "对处理不满意的客户流失率（%）", "number"),
                Field("verdict", "结论", "choice", [("worse", "不满意的客户流失率明显更高"),
                                                   ("same", "两组差不多"), ("better", "不满意的客户流失率更低")])]

    def check(self, params, answer, truth, data):
        cust, satisfied = _last_closed(data)
        lost = data.customers["stage"][data.index(cust)] == "已流失"
        rs, ru = float(lost[satisfied].mean()), float(lost[~satisfied].mean())
        verdict = "worse" if ru > rs + 0.02 else ("better" if ru < rs - 0.02 else "same")
        gs, gu = (None if answer.get(k) is None else answer[k] / 100 for k in ("satisfied", "unsatisfied"))
        s1, s2 = grade_number(gs, rs, 0.01, 0.03), grade_number(gu, ru, 0.01, 0.03)
        s3 = 1.0 if answer.get("verdict") == verdict else 0.0
        lines = [f"对处理满意的 {int(satisfied.sum())} 位客户流失率 {pct(rs)}（你答 {pct(gs)}）；"
                 f"不满意的 {int((~satisfied).sum())} 位客户流失率 {pct(ru)}（你答 {pct(gu)}）。",
                 "案例：抱怨没有完全解决好的人中 1/3 完全抵制公司产品、45% 减少购买，并向 9–10 人转述经历；"
                 "处理得满意的人向 4–5 人转述，其中 10% 会增加购买。投诉处理是挽留客户和口碑的关键时刻。"]
        if s3 < 1:
            lines.append(f"结论应为：{ {'worse': '不满意的客户流失率明显更高', 'same': '两组差不多', 'better': '不满意的客户流失率更低'}[verdict] }。")
        return Result(0.35 * s1 + 0.35 * s2 + 0.3 * s3, lines,
                      {"satisfied": round(rs * 100, 2), "unsatisfied": round(ru * 100, 2), "verdict": verdict})
