"""客户细分： RFM scores of given customers, the size of an RFM cell, the revenue share of the top customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.sandbox.exercises.base import (
    Exercise,
    Field,
    Result,
    grade_number,
    money,
    pct,
    pick,
    register,
    rng_for,
)

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

SCORE_OPTIONS = [(str(i), str(i)) for i in range(1, 6)]
RFM_RULE = ("计分口径：全体客户（含从未购买的客户）分别按 R、F、M 排序后等分为五组，5 分最好；R 为最近一次购买距基准日的天数"
            "（越近越好，从未购买视为最远），F 为订单数，M 为消费金额合计。数值相同时按客户编号先后排名，"
            "再按名次等分为五组。"
            "也接受标准 RFM 的“只给有过购买的客户排名”口径，以及“并列取平均名次”的并列处理：按哪种口径算对都得分，"
            "反馈会说明你用的是哪一种。")
# (name, buyers only, tie rule) -> how the feedback names the convention
CONVENTIONS = {
    ("all", "rank_first"): "全体客户、并列按编号先后（本题默认口径）",
    ("all", "average_rank"): "全体客户、并列取平均名次",
    ("buyers", "rank_first"): "只给有过购买的客户排名（标准 RFM）、并列按编号先后",
    ("buyers", "average_rank"): "只给有过购买的客户排名（标准 RFM）、并列取平均名次",
}
TIE_VARIANT = "你的答案符合另一种课程认可的口径({})，按正确计分；写报告时要注明口径。"


def convention_scores(data: Any) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """R, F, M scores and cells of every customer under each accepted convention (0 = not scored)."""
    import numpy as np

    from simulations.analytics import rfm_scores

    c = data.customers
    buyers = c["n_orders"] > 0
    out = {}
    for who, tie in CONVENTIONS:
        if who == "all":
            out[(who, tie)] = rfm_scores(c["recency_days"], c["n_orders"], c["revenue"], tie_rule=tie)
            continue
        part = rfm_scores(c["recency_days"][buyers], c["n_orders"][buyers], c["revenue"][buyers], tie_rule=tie)
        full: dict[str, np.ndarray] = {}
        for letter in "rfm":
            full[letter] = np.zeros(buyers.size, dtype=np.int64)
            full[letter][buyers] = part[letter]
        full["cell"] = np.where(buyers, np.char.add(np.char.add(full["r"].astype(str), full["f"].astype(str)),
                                                    full["m"].astype(str)), "")
        out[(who, tie)] = full
    return out


@register
class RfmScores(Exercise):
    key = "rfm_scores"
    title = "计算指定客户的 RFM 得分"
    topic = "客户细分"
    summary = "按五分位给三位客户的 R、F、M 打分。"

    def make_params(self, sandbox, user_id, variant=0):
        from app.sandbox.analysis import View

        data = View(sandbox)
        c = data.customers
        rng = rng_for(sandbox, user_id, self.key, variant)
        buyers = c["id"][c["n_orders"] > 0]
        return {"customers": pick(rng, buyers, 3), "as_of": data.as_of.isoformat()}

    def prompt(self, params):
        ids = "、".join(f"{i} 号" for i in params["customers"])
        return [f"以 {params['as_of']} 为基准日，计算客户 {ids} 的 R、F、M 得分（1–5 分）。", RFM_RULE,
                "提示：在“客户”页可查到每位客户的最近购买日期、订单数和消费金额；全体客户的数据可从“下载”页导出。"]

    def fields(self, params, ctx=None):
        out = []
        for cid in params["customers"]:
            for letter in "rfm":
                out.append(Field(f"{letter}_{cid}", f"客户 {cid} 的 {letter.upper()} 得分", "choice", SCORE_OPTIONS))
        return out

    def check(self, params, answer, truth, data):
        c = data.customers
        idx = data.index(params["customers"])
        scores = convention_scores(data)
        n = 3 * len(params["customers"])
        right = {conv: sum(answer.get(f"{k}_{cid}") == str(int(s[k][i])) for cid, i in
                           zip(params["customers"], idx, strict=True) for k in "rfm") for conv, s in scores.items()}
        best = max(right, key=lambda conv: (right[conv], conv == ("all", "rank_first")))
        main = scores[("all", "rank_first")]
        expected = {f"{k}_{cid}": int(main[k][i]) for cid, i in zip(params["customers"], idx, strict=True)
                    for k in "rfm"}
        lines = []
        for cid, i in zip(params["customers"], idx, strict=True):
            parts = []
            for letter in "rfm":
                given = answer.get(f"{letter}_{cid}")
                want = int(scores[best][letter][i])
                parts.append(f"{letter.upper()}={want} ✓" if given == str(want)
                             else f"{letter.upper()} 应为 {want}(你答 {given or '未填'})")
            recency = c["recency_days"][i]
            lines.append(f"客户 {cid}:{';'.join(parts)}。依据：最近一次购买距基准日 {recency:.0f} 天，"
                         f"订单 {int(c['n_orders'][i])} 笔，消费 {money(float(c['revenue'][i]))}。")
        total = right[best]
        head = "全部正确。" if total == n else f"{total}/{n} 个得分正确。"
        if best != ("all", "rank_first") and total > right[("all", "rank_first")]:
            head += TIE_VARIANT.format(CONVENTIONS[best])
        why = "得分看的是客户在全体客户中的名次（五分位），不是绝对数值：先排序，再按名次等分五组。"
        return Result(total / n, [head, *lines] + ([] if total == n else [why]), expected)


@register
class RfmCellCount(Exercise):
    key = "rfm_cell_count"
    title = "数一数某个 RFM 单元格的客户数"
    topic = "客户细分"
    summary = "5×5×5=125 个 RFM 单元格中，指定单元格有多少位客户。"

    def make_params(self, sandbox, user_id, variant=0):
        import numpy as np

        from app.sandbox.analysis import View

        c = View(sandbox).customers
        cells, counts = np.unique(c["rfm"], return_counts=True)
        pool = cells[counts >= 3] if (counts >= 3).any() else cells
        rng = rng_for(sandbox, user_id, self.key, variant)
        return {"cell": str(pool[int(rng.integers(pool.size))]), "as_of": View(sandbox).as_of.isoformat()}

    def prompt(self, params):
        cell = params["cell"]
        return [f"以 {params['as_of']} 为基准日，RFM 单元格 {cell}（R={cell[0]}，F={cell[1]}，M={cell[2]}）中有多少位客户？",
                RFM_RULE, "答案须为准确的人数（按上面任一口径算出的人数都接受）。"]

    def fields(self, params, ctx=None):
        return [Field("count", "客户数", "int", step="1")]

    def check(self, params, answer, truth, data):
        cell = params["cell"]
        counts = {conv: int((s["cell"] == cell).sum()) for conv, s in convention_scores(data).items()}
        right = counts[("all", "rank_first")]
        given = answer.get("count")
        expected = {"count": right}
        value = None if given is None else int(round(given))
        if value == right:
            return Result(1.0, [f"正确：单元格 {cell} 有 {right} 位客户。"], expected)
        other = next((conv for conv, count in counts.items() if count == value), None)
        if other is not None:
            return Result(1.0, [f"你的 {value} 位与“{CONVENTIONS[other]}”的口径一致；本题默认口径下是 {right} 位。",
                                TIE_VARIANT.format(CONVENTIONS[other])], expected)
        near = value is not None and min(abs(value - c) for c in counts.values()) <= max(1, 0.1 * right)
        feedback = [f"单元格 {cell} 的客户数不是 {'未填' if value is None else value}。"]
        if near:
            feedback.append("已经很接近：多半是并列或边界处理不同；注意五组人数应尽量相等，并说明是否把未购买的客户算进排名。")
        else:
            feedback.append("请先给每位客户算出 R、F、M 三个得分，再统计三个得分同时等于 "
                            f"{cell[0]}、{cell[1]}、{cell[2]} 的客户。")
        return Result(0.5 if near else 0.0, feedback, expected)


@register
class ParetoShare(Exercise):
    key = "pareto_share"
    title = "头部客户的收入占比（80/20 法则）"
    topic = "客户细分"
    summary = "消费额最高的前 p% 客户贡献了多少收入？"

    def make_params(self, sandbox, user_id, variant=0):
        rng = rng_for(sandbox, user_id, self.key, variant)
        share = [0.1, 0.15, 0.2, 0.2, 0.25, 0.3][int(rng.integers(6))]
        return {"share": share}

    def prompt(self, params):
        p = round(params["share"] * 100)
        return [f"把全部客户（含从未购买的客户）按消费金额从高到低排序，前 {p}% 的客户贡献了全部收入的百分之几？",
                "请以百分数作答（如 78.5），误差在 ±0.5 个百分点内得满分，±2 个百分点内得一半分。",
                "只在有过购买的客户中取前 p% 的算法也接受（会说明差别）。"]

    def fields(self, params, ctx=None):
        return [Field("percent", "收入占比（%）", "number", hint="例如 78.5")]

    def check(self, params, answer, truth, data):
        import numpy as np

        revenue = data.customers["revenue"]
        total = float(revenue.sum()) or 1.0
        ordered = np.sort(revenue)[::-1]
        k_all = int(np.floor(params["share"] * revenue.size + 0.5))
        buyers = int((revenue > 0).sum())
        k_buyers = int(np.floor(params["share"] * buyers + 0.5))
        right = float(ordered[:k_all].sum()) / total
        alt = float(ordered[:k_buyers].sum()) / total
        given = answer.get("percent")
        value = None if given is None else given / 100
        p = round(params["share"] * 100)
        expected = {"percent": round(right * 100, 2)}
        score = grade_number(value, right, 0.005, 0.02)
        lines = [f"前 {p}%（全部 {revenue.size} 位客户中的前 {k_all} 位）贡献了 {pct(right)} 的收入（你答 "
                 f"{'未填' if value is None else pct(value)}）。"]
        if score < 1 and grade_number(value, alt, 0.005, 0.02) == 1.0:
            return Result(1.0, [f"你按有购买的 {buyers} 位客户取前 {p}%（前 {k_buyers} 位），占比 {pct(alt)}；"
                                f"按全部客户算是 {pct(right)}。两种口径都可以，写报告时要注明分母。"], expected)
        lines.append(f"课程的 80/20 法则说“企业80%的收入来自20%的客户”；本公司前 20% 客户的占比为 "
                     f"{pct(data.pareto()['top20_share'])}。")
        if score < 1:
            lines.append("做法：按消费金额降序排序，取前 p%×客户总数（四舍五入）位客户，其金额合计除以全部收入。")
        return Result(score, lines, expected)
