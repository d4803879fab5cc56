"""Analytics pages with server-side SVG charts: RFM grid, Pareto, lifecycle, clusters, satisfaction, baskets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.charts import bar_chart, heat_map, line_chart, multi_line_chart, scatter_plot
from app.sandbox import analysis, bp
from app.sandbox import services as svc

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

PAGES = {"rfm": "RFM 网格", "pareto": "帕累托与价值分层", "lifecycle": "生命周期", "clusters": "聚类",
         "satisfaction": "满意度与复购", "basket": "购物篮关联"}
SCATTER_POINTS = 1500


def _page(name: str, sandbox, **context):
    return render_template(f"sandbox/analysis_{name}.html", sandbox=sandbox, pages=PAGES, active=name, **context)


@bp.route("/<int:sandbox_id>/analysis/")
@login_required
def analysis_home(sandbox_id: int):
    svc.sandbox_or_404(sandbox_id, current_user)
    return redirect(url_for("sandbox.analysis", sandbox_id=sandbox_id, page="rfm"))


@bp.route("/<int:sandbox_id>/analysis/<page>", endpoint="analysis")
@login_required
def analysis_page(sandbox_id: int, page: str):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    view = ANALYSES.get(page)
    if view is None:
        return redirect(url_for("sandbox.analysis", sandbox_id=sandbox_id, page="rfm"))
    return view(sandbox)


def _rfm(sandbox):
    grid = analysis.rfm_grid(sandbox)
    chart = heat_map([f"R={r}" for r in range(5, 0, -1)], [f"F={f}" for f in range(1, 6)],
                     grid["counts"].tolist(), "RFM 网格：各 R×F 格的客户数（人，颜色越深人越多）",
                     x_label="F 得分（购买频率，5 最高）", y_label="R 得分（最近购买）")
    m_chart = heat_map([f"R={r}" for r in range(5, 0, -1)], [f"F={f}" for f in range(1, 6)],
                       grid["mean_m"].tolist(), "各 R×F 格客户的平均 M 得分（分，1–5）", value_format="{:.1f}",
                       x_label="F 得分（购买频率，5 最高）", y_label="R 得分（最近购买）")
    return _page("rfm", sandbox, chart=chart, m_chart=m_chart, cells=grid["cells"][:25])


def _pareto(sandbox):
    import numpy as np

    p = analysis.pareto_curve(sandbox)
    x, y = np.asarray(p["curve_x"]), np.asarray(p["curve_y"])
    picks = np.unique(np.linspace(0, x.size - 1, 41).astype(int))
    chart = line_chart([(f"{x[i]:.0%}", float(y[i])) for i in picks], "帕累托曲线：客户按消费额从高到低累计的收入占比",
                       x_label="客户占比（%，按消费额从高到低）", y_label="累计收入占比（%）")
    abc = {k: int((np.asarray(p["abc_class"]) == k).sum()) for k in "ABC"}
    tiers = analysis.tier_summary(sandbox)
    tier_chart = bar_chart([(t["tier"], t["share"]) for t in tiers], "各价值层级贡献的利润占比",
                           x_label="价值层级", y_label="利润占比（%）")
    return _page("pareto", sandbox, chart=chart, p=p, abc=abc, tiers=tiers, tier_chart=tier_chart)


def _lifecycle(sandbox):
    data = analysis.lifecycle(sandbox)
    counts = data["counts"]
    total = sum(counts.values()) or 1
    dist = bar_chart([(s, counts[s] / total) for s in analysis.STAGE_ORDER], "各阶段客户占比",
                     x_label="生命周期阶段", y_label="客户占比（%）")
    textbook = [s for s in ("考察期", "形成期", "稳定期", "退化期")]
    recent = bar_chart([(s, data["recent"][s]) for s in textbook], "近 3 个月平均每位客户每月订单数（按当前阶段）",
                       y_format="{:.2f}", x_label="生命周期阶段", y_label="订单数（笔/人/月）")
    months = svc.sandbox_months(sandbox)
    curves = multi_line_chart([m[2:] for m in months],
                              [(s, [float(v) for v in data["curves"][s]]) for s in analysis.STAGE_ORDER if counts[s]],
                              "按当前阶段分组：每位客户每月平均订单数", y_format="{:.2f}",
                              x_label="月份（年-月）", y_label="订单数（笔/人/月）")
    return _page("lifecycle", sandbox, counts=counts, total=total, dist=dist, recent=recent, curves=curves)


def _clusters(sandbox):
    import numpy as np

    x_dim = request.args.get("x", "recency")
    y_dim = request.args.get("y", "monetary")
    x_dim = x_dim if x_dim in analysis.DIMENSIONS else "recency"
    y_dim = y_dim if y_dim in analysis.DIMENSIONS else "monetary"
    result = analysis.clusters(sandbox)
    data = analysis.customers(sandbox)
    labels = np.asarray(result["labels"])
    x_label, x_values, log_x = analysis.DIMENSIONS[x_dim]
    y_label, y_values, log_y = analysis.DIMENSIONS[y_dim]
    xs, ys = x_values(data), y_values(data)
    keep = np.flatnonzero((labels >= 0) & np.isfinite(xs) & np.isfinite(ys))
    if keep.size > SCATTER_POINTS:  # a fixed sample keeps the page light; the clusters use everyone
        keep = np.sort(np.random.default_rng(sandbox.seed % (2**32)).choice(keep, SCATTER_POINTS, replace=False))
    centers = []
    for row in result["summary"]:
        mask = labels == row["label"]
        if mask.any():
            centers.append((_center(xs[mask], log_x), _center(ys[mask], log_y), f"群{row['label'] + 1}"))
    chart = scatter_plot([(float(xs[i]), float(ys[i]), int(labels[i])) for i in keep],
                         f"客户聚类（k=4，按 R、F、M 标准化后聚类）：{x_label} × {y_label}", x_label, y_label,
                         [f"群{r['label'] + 1}（{r['customers']} 人）" for r in result["summary"]],
                         highlight=centers, log_x=log_x, log_y=log_y)
    return _page("clusters", sandbox, chart=chart, summary=result["summary"], dims=analysis.DIMENSIONS,
                 x_dim=x_dim, y_dim=y_dim, shown=int(keep.size))


def _center(values: np.ndarray, log: bool) -> float:
    """A group's centre on the axis as drawn (the mean of log10(1 + v) on a log axis)."""
    import numpy as np

    if log:
        return float(10 ** np.nanmean(np.log10(1 + np.maximum(values, 0))) - 1)
    return float(np.nanmean(values))


def _satisfaction(sandbox):
    import numpy as np

    bins = analysis.satisfaction_bins(sandbox)
    data = analysis.satisfaction(sandbox)
    chart = bar_chart([(b["label"], b["rate"] or 0.0) for b in bins],
                      f"调查后 {analysis.REPURCHASE_DAYS} 天内复购的比例（按满意度 c=b/a 分组）", y_max=1.0,
                      x_label="满意度 c = b/a 分组", y_label="复购比例（%）")
    sel = np.asarray(data["observable"])
    c = np.asarray(data["c"])
    points = [(float(c[i]), float(data["repurchased"][i]), 0) for i in np.flatnonzero(sel)[:SCATTER_POINTS]]
    return _page("satisfaction", sandbox, bins=bins, chart=chart, n=int(sel.sum()), total=int(c.size),
                 mean_c=float(c.mean()) if c.size else None, points=len(points))


def _basket(sandbox):
    support = request.args.get("support", 0.005, type=float)
    confidence = request.args.get("confidence", 0.1, type=float)
    if (support, confidence) not in analysis.DEFAULT_RULES:
        support, confidence = analysis.DEFAULT_RULES[0]
    result = analysis.basket_rules(sandbox, support, confidence)
    return _page("basket", sandbox, result=result, support=support, confidence=confidence,
                 options=analysis.DEFAULT_RULES)


ANALYSES = {"rfm": _rfm, "pareto": _pareto, "lifecycle": _lifecycle, "clusters": _clusters,
            "satisfaction": _satisfaction, "basket": _basket}
