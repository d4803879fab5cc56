"""Charts can be read: a visible title, axis labels, no label cut or drawn outside the chart, readable contrast,
text at 12 px on any screen (the SVG keeps its pixel size; the stylesheet sets the size)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from defusedxml import ElementTree

from app.charts import bar_chart, contrast, heat_map, line_chart, multi_line_chart, scatter_plot, text_width

NS = "{http://www.w3.org/2000/svg}"
MONTHS = [f"{y % 100:02d}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]


def parse(svg):
    wrapper = ElementTree.fromstring(str(svg))  # the focusable region that scrolls a wide chart on a phone
    assert wrapper.tag == "div" and wrapper.get("tabindex") == "0" and wrapper.get("aria-label")
    root = wrapper.find(f"{NS}svg")
    texts = [(el, "".join(el.itertext())) for el in root.iter(f"{NS}text")]
    return root, texts


def visible_strings(svg) -> list[str]:
    return [text for _, text in parse(svg)[1]]


def outside(svg) -> list[str]:
    """Horizontal text that does not fit inside the SVG's width (by the estimated text width)."""
    root, texts = parse(svg)
    width = float(root.get("width"))
    shift = 0.0
    bad = []
    for el, _ in texts:
        if el.get("transform"):
            continue
        lines = [t.text or "" for t in el.iter(f"{NS}tspan")] or [el.text or ""]
        x = float(el.get("x")) + shift
        for line in lines:
            w = text_width(line, 14 if el.get("class") == "chart-title" else 12)
            start = {"start": x, "middle": x - w / 2, "end": x - w}[el.get("text-anchor", "start")]
            if start < -0.5 or start + w > width + 0.5:
                bad.append(line)
    return bad


CASES = {
    "dashboard": lambda: line_chart([(m, v) for m, v in zip(MONTHS, [1_396_122.0] * 24, strict=True)], "每月销售额",
                                    y_max=1_396_122 * 1.1, y_format="{:,.0f}", x_label="月份(年-月)",
                                    y_label="销售额(元)"),
    "campaign": lambda: bar_chart([("本次活动 响应率", 0.12), ("随机对照 响应率", 0.05)], "响应率:目标客户 vs 随机",
                                  y_format="{:.1%}", y_label="响应率(%)"),
    "satisfaction": lambda: bar_chart([("c < 0.8", 0.3), ("0.8 ≤ c < 1", 0.4), ("1 ≤ c < 1.2", 0.6), ("c ≥ 1.2", 0.7)],
                                      "复购比例", y_max=1.0, x_label="满意度 c = b/a 分组", y_label="复购比例(%)"),
    "months": lambda: bar_chart([(m, 1000.0 * i) for i, m in enumerate(MONTHS)], "每月消费金额", y_format="{:,.0f}",
                                x_label="月份(年-月)", y_label="消费金额(元)"),
    "stages": lambda: bar_chart([(s, 0.2) for s in ("考察期", "形成期", "稳定期", "退化期", "已流失", "潜在客户")],
                                "各阶段客户占比", x_label="生命周期阶段", y_label="客户占比(%)"),
    "heat": lambda: heat_map([f"R={r}" for r in range(5, 0, -1)], [f"F={f}" for f in range(1, 6)],
                             [[float(r * 5 + f) * 40 for f in range(5)] for r in range(5)], "RFM 网格:客户数(人)",
                             x_label="F 得分", y_label="R 得分"),
    "scatter": lambda: scatter_plot([(1.0, 2.0, 0), (1000.0, 120_000.0, 1)], "客户聚类", "最近购买距今天数",
                                    "消费金额 M", ["群1(120 人)", "群2(80 人)"], highlight=[(500.0, 60_000.0, "群1")],
                                    log_y=True),
    "multi": lambda: multi_line_chart(MONTHS, [(s, [float(i % 5) for i in range(24)]) for s in
                                               ("考察期", "形成期", "稳定期", "退化期", "已流失", "潜在客户")],
                                      "每位客户每月平均订单数", y_format="{:.2f}", x_label="月份", y_label="订单数(笔/人/月)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_chart_has_a_visible_title_and_nothing_outside(name):
    svg = CASES[name]()
    root, texts = parse(svg)
    titles = [el for el, _ in texts if el.get("class") == "chart-title"]
    assert titles and "".join(t for el, t in texts if el.get("class") == "chart-title") == root.get("aria-label")
    assert root.get("width") == root.get("viewBox").split()[2]  # drawn at its pixel size: 12 px text stays 12 px
    assert not outside(svg), outside(svg)


@pytest.mark.parametrize("name", sorted(CASES))
def test_axis_labels_are_drawn(name):
    strings = visible_strings(CASES[name]())
    labels = {"dashboard": ["月份(年-月)", "销售额(元)"], "campaign": ["响应率(%)"], "satisfaction": ["复购比例(%)"],
              "months": ["消费金额(元)"], "stages": ["生命周期阶段"], "heat": ["F 得分", "R 得分"],
              "scatter": ["最近购买距今天数", "消费金额 M（对数刻度）"], "multi": ["订单数(笔/人/月)"]}[name]
    for label in labels:
        assert label in strings, (name, label)


def test_no_label_is_truncated():
    ticks = [s for s in visible_strings(CASES["dashboard"]()) if re.fullmatch(r"[\d,]+", s)]
    assert any(re.fullmatch(r"1,\d{3},\d{3}", t) for t in ticks)  # the y axis used to cut 1,396,122 to "396,122"
    for name, labels in (("campaign", ["本次活动 响应率", "随机对照 响应率"]),
                         ("satisfaction", ["c < 0.8", "0.8 ≤ c < 1", "1 ≤ c < 1.2", "c ≥ 1.2"]),
                         ("months", MONTHS), ("stages", ["潜在客户"])):
        joined = " ".join(visible_strings(CASES[name]()))
        for label in labels:
            words = label.split(" ")
            assert label in joined or all(w in joined for w in words), (name, label)  # whole, maybe on two lines
    svg = str(CASES["months"]())
    assert "rotate(-40" in svg  # 24 month labels do not fit side by side: rotated, not cut


def test_long_bar_labels_wrap_onto_two_lines():
    bars = [("本次活动 响应率", 0.1), ("随机对照 响应率", 0.05)] + [(c, 0.1) for c in "defghi"]
    root, texts = parse(bar_chart(bars, "t"))
    spans = [[t.text for t in el.iter(f"{NS}tspan")] for el, _ in texts]
    assert ["本次活动", "响应率"] in spans and ["随机对照", "响应率"] in spans
    # one label too long for two lines: all labels are rotated and every one is drawn whole
    svg = bar_chart([*bars, ("第三组很长很长的名称 响应率", 0.2)], "t")
    assert "rotate(-40" in str(svg) and "第三组很长很长的名称 响应率" in visible_strings(svg)


def test_heat_map_text_contrasts_with_its_cell():
    root, texts = parse(CASES["heat"]())
    from app.charts import CHIP_OPACITY, _luminance

    rects = [r for r in root.iter(f"{NS}rect") if r.get("class") != "chip"]
    chips = {(round(float(r.get("x")) + float(r.get("width")) / 2, 1), round(float(r.get("y")), 1))
             for r in root.iter(f"{NS}rect") if r.get("class") == "chip"}
    cells = [(el, t) for el, t in texts if el.get("fill") in ("#ffffff", "#1d2430")]
    assert len(cells) == len(rects) == 25
    for rect, (el, _) in zip(rects, cells, strict=True):
        bg = _luminance(rect.get("fill"), float(rect.get("fill-opacity")))
        if (round(float(el.get("x")), 1), round(float(el.get("y")) - 12, 1)) in chips:
            bg = CHIP_OPACITY * 1.0 + (1 - CHIP_OPACITY) * bg  # a light chip under the number
        ink = 1.0 if el.get("fill") == "#ffffff" else _luminance("#1d2430", 1.0)
        assert contrast(bg, ink) >= 4.5, (rect.get("fill-opacity"), el.get("fill"))
    assert {el.get("fill") for el, _ in cells} == {"#ffffff", "#1d2430"}  # dark cells carry white text


def test_stylesheet_keeps_chart_text_readable_on_a_phone():
    css = (Path(__file__).resolve().parent.parent / "app" / "static" / "css" / "site.css").read_text(encoding="utf-8")
    size = int(re.search(r"\.chart text \{ font-size:(\d+)px", css).group(1))
    assert size >= 11
    assert re.search(r"\.chart svg \{[^}]*max-width:none", css) and re.search(r"\.chart \{[^}]*overflow-x:auto", css)


@pytest.mark.parametrize("name", ["dashboard", "multi"])
def test_x_labels_do_not_overlap(name):
    root, texts = parse(CASES[name]())
    boxes = []
    for el, text in texts:
        if re.fullmatch(r"\d\d-\d\d", text) or text in MONTHS:
            w, x = text_width(text), float(el.get("x"))
            start = {"start": x, "middle": x - w / 2, "end": x - w}[el.get("text-anchor")]
            boxes.append((start, start + w))
    boxes.sort()
    assert len(boxes) >= 4 and MONTHS[-1] in visible_strings(CASES[name]())  # the last month is labelled
    assert all(a[1] + 2 <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
