"""Server-side SVG charts (no scripts, no CDN): line, bar, heat-map, scatter and multi-line charts as safe markup.

Readable by construction: every chart draws its title as visible text (and as the SVG ``<title>``), axis labels
with units when the caller gives them, and its tick and category labels whole — a long label is wrapped onto two
lines or, when that is not enough, rotated; the y-axis is as wide as its longest tick. Text sits on a contrasting
colour (white on dark heat-map cells). Each SVG has a fixed pixel width equal to its viewBox, so its text is drawn
at the stylesheet's 12 px on any screen; on a phone the chart scrolls sideways inside its card (``.chart``)
instead of shrinking the text to a few pixels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from markupsafe import Markup, escape

W, H, PAD_R, PAD_T = 640, 260, 16, 12
FONT, TITLE_FONT, LINE = 12, 14, 15  # px: tick/label text, title, line height
TICK_GAP = 6
PALETTE = ("#1f6feb", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#ee46bc", "#667085")
AXIS, GRID = "#98a2b3", "#e4e7ec"


def text_width(text: str, size: float = FONT) -> float:
    """Estimated drawn width of text: a CJK or full-width character is one em, others about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def wrap(text: str, width: float, size: float = FONT) -> list[str]:
    """Break text into lines no wider than ``width``: at spaces or between CJK characters, never inside a number
    or a Latin word (a line that still does not fit is returned as it is; callers rotate such labels)."""
    if text_width(text, size) <= width:
        return [text]
    if " " in text.strip():  # words first: "本次活动 响应率" breaks at its space
        words = _greedy(re.findall(r"\S+|\s+", text), width, size)
        if all(text_width(line, size) <= width for line in words):
            return words
    return _greedy(re.findall(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+|\s+", text), width, size)


def _greedy(tokens: Sequence[str], width: float, size: float) -> list[str]:
    """Fill lines with tokens up to ``width``."""
    lines, current = [], ""
    for token in tokens:
        candidate = current + token
        if current.strip() and token.strip() and text_width(candidate.rstrip(), size) > width:
            lines.append(current.rstrip())
            current = token
        else:
            current = candidate
    if current.strip():
        lines.append(current.strip())
    return lines


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "", extra: str = "") -> str:
    attrs = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attrs}{extra}>{escape(text)}</text>'


def _lines(x: float, y: float, lines: Sequence[str], anchor: str = "middle", cls: str = "") -> str:
    """One text element of several lines (tspans), the first baseline at y."""
    attrs = f' class="{cls}"' if cls else ""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attrs}>{spans}</text>'


def _frame(body: str, title: str, width: float, height: float) -> Markup:
    """The SVG: the visible title on top (wrapped to the width), then the body moved below it."""
    title_lines = wrap(title, width - 16, TITLE_FONT)
    head = 8 + LINE + 3 * len(title_lines) + LINE * (len(title_lines) - 1) + 6
    title_svg = _lines(8, 8 + TITLE_FONT, title_lines, "start", "chart-title")
    total_h = math.ceil(height + head)
    width = math.ceil(width)
    # the wrapper scrolls sideways on a phone (the chart keeps its size), so it is focusable for keyboard users
    return Markup(  # noqa: S704 (every interpolated text is escaped by _text/_lines/escape)
        f'<div class="chart-scroll" tabindex="0" role="region" aria-label="{escape(title)}">'
        f'<svg width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'{title_svg}<g transform="translate(0 {head:.0f})">{body}</g></svg></div>')


def _y_axis(ticks: Sequence[tuple[float, str]], y_label: str, pad_t: float, plot_h: float) -> tuple[float, list[str]]:
    """Left padding wide enough for the longest tick label (and the rotated axis label); the label markup."""
    widest = max([text_width(t) for _, t in ticks] + [0.0])
    pad_l = widest + TICK_GAP + 8 + (LINE + 4 if y_label else 0)
    parts = []
    if y_label:
        mid = pad_t + plot_h / 2
        parts.append(_text(LINE - 2, mid, y_label, "middle", "axis-label", f' transform="rotate(-90 {LINE - 2} {mid:.1f})"'))
    return pad_l, parts


def _category_labels(labels: Sequence[str], centers: Sequence[float], slot: float, y: float
                     ) -> tuple[list[str], float]:
    """Labels under categories: whole, wrapped onto two lines, or rotated when that is not enough.

    Returns the markup and the height the labels take below ``y``. Labels are never cut.
    """
    wrapped = [wrap(label, slot * 0.95) for label in labels]
    if all(len(lines) <= 2 and max(text_width(line) for line in lines) <= slot * 0.95 for lines in wrapped):
        height = LINE * max([len(lines) for lines in wrapped] + [1]) + 4
        return [_lines(x, y + FONT + 2, lines) for x, lines in zip(centers, wrapped, strict=True)], height
    angle = 40
    widest = max(text_width(label) for label in labels)
    height = widest * math.sin(math.radians(angle)) + FONT + 8
    return [_text(x, y + FONT, label, "end", "", f' transform="rotate(-{angle} {x:.1f} {y + FONT:.1f})"')
            for x, label in zip(centers, labels, strict=True)], height


def _x_label(parts: list[str], label: str, center: float, height: float) -> float:
    """The x-axis label under the chart (when given); return the new height."""
    if not label:
        return height
    parts.append(_text(center, height + FONT, label, "middle", "axis-label"))
    return height + LINE + 6


def _every(labels: Sequence[str], step: float) -> int:
    """Show every k-th x label so neighbours do not overlap."""
    widest = max([text_width(label) for label in labels] + [1.0])
    # 1.5 label widths: the first and last labels are anchored at their ends, the others at their middles
    return max(1, math.ceil((1.5 * widest + 10) / max(step, 1e-9)))


def line_chart(points: Sequence[tuple[str, float | None]], title: str, y_max: float = 1.0,
               y_format: str = "{:.0%}", color: str = "#1f6feb", x_label: str = "", y_label: str = "") -> Markup:
    """A line chart of (label, value) points; None values leave a gap."""
    n = len(points)
    plot_h = H - 70
    ticks = [(y_max * (1 - i / 4), y_format.format(y_max * (1 - i / 4))) for i in range(5)]
    pad_l, parts = _y_axis(ticks, y_label, PAD_T, plot_h)
    width = max(W, pad_l + 200)
    plot_w = width - pad_l - PAD_R
    for i, (_, tick) in enumerate(ticks):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<line x1="{pad_l:.1f}" y1="{y:.1f}" x2="{width - PAD_R}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(pad_l - TICK_GAP, y + 4, tick, "end"))
    bottom = PAD_T + plot_h
    if n:
        step = plot_w / max(1, n - 1)
        every = _every([label for label, _ in points], step)
        path: list[tuple[float, float] | None] = []
        dots = []
        for i, (label, value) in enumerate(points):
            x = pad_l + (step * i if n > 1 else plot_w / 2)
            if (i % every == 0 and n - 1 - i >= every) or i == n - 1:
                anchor = "end" if i == n - 1 and n > 1 else ("start" if i == 0 and n > 1 else "middle")
                parts.append(_text(x, bottom + FONT + 4, label, anchor))
            if value is None:
                path.append(None)
                continue
            y = PAD_T + plot_h * (1 - min(value, y_max) / y_max) if y_max else bottom
            path.append((x, y))
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(label)}:'
                        f'{escape(y_format.format(value))}</title></circle>')
        segments: list[list[tuple[float, float]]] = [[]]
        for point in path:
            if point is None:
                segments.append([])
            else:
                segments[-1].append(point)
        for seg in segments:
            if seg:
                d = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f},{y:.1f}" for j, (x, y) in enumerate(seg))
                parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += dots
    height = bottom + FONT + 10
    height = _x_label(parts, x_label, pad_l + plot_w / 2, height)
    return _frame("".join(parts), title, width, height)


def bar_chart(bars: Sequence[tuple[str, float]], title: str, y_max: float | None = None,
              y_format: str = "{:.0%}", color: str = "#1f6feb", x_label: str = "", y_label: str = "") -> Markup:
    """A vertical bar chart of (label, value); category labels are wrapped or rotated, never cut."""
    n = len(bars)
    top = y_max if y_max is not None else max([v for _, v in bars] + [1e-9])
    plot_h = H - 90
    ticks = [(top * (1 - i / 4), y_format.format(top * (1 - i / 4))) for i in range(5)]
    pad_l, parts = _y_axis(ticks, y_label, PAD_T, plot_h)
    width = max(W, pad_l + 200)
    plot_w = width - pad_l - PAD_R
    bottom = PAD_T + plot_h
    parts.append(f'<line x1="{pad_l:.1f}" y1="{bottom}" x2="{width - PAD_R}" y2="{bottom}" stroke="{AXIS}"/>')
    for i, (_, tick) in enumerate(ticks):
        y = PAD_T + plot_h * i / 4
        if i < 4:
            parts.append(f'<line x1="{pad_l:.1f}" y1="{y:.1f}" x2="{width - PAD_R}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(pad_l - TICK_GAP, y + 4, tick, "end"))
    label_h = 0.0
    if n:
        slot = plot_w / n
        centers = []
        for i, (label, value) in enumerate(bars):
            h = plot_h * (min(max(value, 0.0), top) / top if top else 0)
            x = pad_l + slot * i + slot * 0.15
            centers.append(x + slot * 0.35)
            parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{escape(label)}:{escape(y_format.format(value))}</title></rect>')
        labels, label_h = _category_labels([label for label, _ in bars], centers, slot, bottom)
        parts += labels
    height = bottom + label_h + 6
    height = _x_label(parts, x_label, pad_l + plot_w / 2, height)
    return _frame("".join(parts), title, width, height)


def _luminance(hex_color: str, alpha: float) -> float:
    """Relative luminance (WCAG) of a colour drawn with ``alpha`` over white."""
    rgb = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    mixed = [alpha * c + (1 - alpha) for c in rgb]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in mixed]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(l1: float, l2: float) -> float:
    """WCAG contrast ratio of two relative luminances."""
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


DARK_TEXT, LIGHT_TEXT = "#1d2430", "#ffffff"
DARK_LUM, LIGHT_LUM = _luminance(DARK_TEXT, 1.0), 1.0
MIN_CONTRAST, CHIP_OPACITY = 4.5, 0.85


def heat_map(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], title: str,
             value_format: str = "{:.0f}", x_label: str = "", y_label: str = "", color: str = "#1f6feb") -> Markup:
    """A grid of cells shaded by value (e.g. the RFM grid); each value is written in the colour that reads best."""
    texts = [value_format.format(v) for row in values for v in row]
    cell = max(48.0, max([text_width(t) for t in texts] + [0.0]) + 12)
    row_w = max([text_width(r) for r in rows] + [0.0])
    left = row_w + TICK_GAP + 8 + (LINE + 4 if y_label else 0)
    top = FONT + 10
    grid_w = cell * len(cols)
    width = max(left + grid_w + 10, text_width(x_label) + left + 10)
    height = top + cell * len(rows) + 8
    peak = max([v for row in values for v in row] + [1e-9])
    parts = []
    if y_label:
        mid = top + cell * len(rows) / 2
        parts.append(_text(LINE - 2, mid, y_label, "middle", "axis-label", f' transform="rotate(-90 {LINE - 2} {mid:.1f})"'))
    for j, col in enumerate(cols):
        parts.append(_text(left + cell * j + cell / 2, top - 6, col))
    for i, row in enumerate(rows):
        parts.append(_text(left - TICK_GAP, top + cell * i + cell / 2 + 4, row, "end"))
        for j, value in enumerate(values[i]):
            alpha = 0.08 + 0.92 * (max(value, 0.0) / peak)
            lum = _luminance(color, alpha)
            ink = LIGHT_TEXT if contrast(lum, LIGHT_LUM) >= contrast(lum, DARK_LUM) else DARK_TEXT
            label = value_format.format(value)
            cx, cy = left + cell * j + cell / 2 - 1, top + cell * i + cell / 2 + 4
            parts.append(f'<rect x="{left + cell * j:.1f}" y="{top + cell * i:.1f}" width="{cell - 2:.1f}" '
                         f'height="{cell - 2:.1f}" fill="{color}" fill-opacity="{alpha:.2f}"><title>{escape(row)} '
                         f'{escape(cols[j])}:{escape(label)}</title></rect>')
            if max(contrast(lum, LIGHT_LUM), contrast(lum, DARK_LUM)) < MIN_CONTRAST:
                # mid shades read badly in either colour (WCAG 4.5:1): dark text on a light chip
                chip_w = text_width(label) + 8
                parts.append(f'<rect class="chip" x="{cx - chip_w / 2:.1f}" y="{cy - FONT:.1f}" width="{chip_w:.1f}" '
                             f'height="{FONT + 5}" rx="3" fill="#ffffff" fill-opacity="{CHIP_OPACITY}"/>')
                ink = DARK_TEXT
            parts.append(_text(cx, cy, label, "middle", "on-dark" if ink == LIGHT_TEXT else "", f' fill="{ink}"'))
    height = _x_label(parts, x_label, left + grid_w / 2, height)
    return _frame("".join(parts), title, width, height)


def scatter_plot(points: Sequence[tuple[float, float, int]], title: str, x_label: str, y_label: str,
                 group_labels: Sequence[str] = (), x_format: str = "{:,.0f}", y_format: str = "{:,.0f}",
                 highlight: Sequence[tuple[float, float, str]] = (), log_x: bool = False,
                 log_y: bool = False) -> Markup:
    """A scatter plot of (x, y, group) points coloured by group, with optional labelled markers (e.g. centroids).

    ``log_x`` / ``log_y`` draw that axis on a log10(1 + v) scale (for skewed figures such as money), with tick
    labels in the original units.
    """

    def fx(v: float) -> float:
        return math.log10(1 + max(v, 0.0)) if log_x else v

    def fy(v: float) -> float:
        return math.log10(1 + max(v, 0.0)) if log_y else v

    xs = [fx(p[0]) for p in points] + [fx(h[0]) for h in highlight]
    ys = [fy(p[1]) for p in points] + [fy(h[1]) for h in highlight]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y_lo, y_hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x_hi, y_hi = (x_hi if x_hi > x_lo else x_lo + 1), (y_hi if y_hi > y_lo else y_lo + 1)

    def label(value: float, fmt: str, log: bool) -> str:
        return fmt.format(10 ** value - 1 if log else value)

    y_ticks = [(y_lo + (y_hi - y_lo) * i / 4, label(y_lo + (y_hi - y_lo) * i / 4, y_format, log_y)) for i in range(5)]
    x_ticks = [(x_lo + (x_hi - x_lo) * i / 4, label(x_lo + (x_hi - x_lo) * i / 4, x_format, log_x)) for i in range(5)]
    plot_h = H - 40
    y_text = y_label + ("（对数刻度）" if log_y else "")
    pad_l, parts = _y_axis(y_ticks, y_text, PAD_T, plot_h)
    width = W
    plot_w = width - pad_l - PAD_R - text_width(x_ticks[-1][1]) / 2

    def sx(x: float) -> float:
        return pad_l + plot_w * (x - x_lo) / (x_hi - x_lo)

    def sy(y: float) -> float:
        return PAD_T + plot_h * (1 - (y - y_lo) / (y_hi - y_lo))

    parts.append(f'<rect x="{pad_l:.1f}" y="{PAD_T}" width="{plot_w:.1f}" height="{plot_h}" fill="none" '
                 f'stroke="{GRID}"/>')
    for value, text in y_ticks:
        parts.append(_text(pad_l - TICK_GAP, sy(value) + 4, text, "end"))
    for value, text in x_ticks:
        parts.append(_text(sx(value), PAD_T + plot_h + FONT + 4, text))
    parts.append(_text(pad_l + plot_w / 2, PAD_T + plot_h + FONT + 4 + LINE + 4,
                       x_label + ("（对数刻度）" if log_x else ""), "middle", "axis-label"))
    for x, y, group in points:
        parts.append(f'<circle cx="{sx(fx(x)):.1f}" cy="{sy(fy(y)):.1f}" r="2.6" '
                     f'fill="{PALETTE[group % len(PALETTE)]}" fill-opacity="0.55"/>')
    for x, y, text in highlight:
        cx, cy = sx(fx(x)), sy(fy(y))
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none" stroke="#1d2430" stroke-width="2">'
                     f'<title>{escape(text)}</title></circle>')
        anchor = "end" if cx + 9 + text_width(text) > width - 4 else "start"
        parts.append(_text(cx - 9 if anchor == "end" else cx + 9, cy - 6, text, anchor, "", ' font-weight="700"'))
    legend_top = PAD_T + plot_h + FONT + 4 + 2 * LINE + 8
    legend_h = _legend(parts, group_labels, pad_l, legend_top, width)
    return _frame("".join(parts), title, width, legend_top + legend_h)


def _legend(parts: list[str], names: Sequence[str], left: float, top: float, width: float) -> float:
    """Legend swatches with their names, flowing onto new rows; returns the height used."""
    x, y = left, top
    for i, name in enumerate(names):
        item_w = 14 + text_width(name) + 18
        if x + item_w > width - PAD_R and x > left:
            x, y = left, y + LINE + 4
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(_text(x + 14, y, name, "start"))
        x += item_w
    return (y - top) + LINE + 4 if names else 0.0


def multi_line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str,
                     y_format: str = "{:.0f}", x_label: str = "", y_label: str = "") -> Markup:
    """Several lines over the same x labels, with a legend (e.g. monthly orders per lifecycle stage)."""
    plot_h = H - 70
    top = max([v for _, values in series for v in values] + [1e-9])
    ticks = [(top * (1 - i / 4), y_format.format(top * (1 - i / 4))) for i in range(5)]
    pad_l, parts = _y_axis(ticks, y_label, PAD_T, plot_h)
    width = max(W, pad_l + 200)
    plot_w = width - pad_l - PAD_R
    for i, (_, tick) in enumerate(ticks):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<line x1="{pad_l:.1f}" y1="{y:.1f}" x2="{width - PAD_R}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(pad_l - TICK_GAP, y + 4, tick, "end"))
    n = len(labels)
    step = plot_w / max(1, n - 1)
    every = _every(labels, step)
    bottom = PAD_T + plot_h
    for i, label in enumerate(labels):
        if (i % every == 0 and n - 1 - i >= every) or i == n - 1:
            anchor = "end" if i == n - 1 and n > 1 else ("start" if i == 0 and n > 1 else "middle")
            parts.append(_text(pad_l + step * i, bottom + FONT + 4, label, anchor))
    for k, (name, values) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        d = " ".join(f"{'M' if i == 0 else 'L'}{pad_l + step * i:.1f},{PAD_T + plot_h * (1 - v / top):.1f}"
                     for i, v in enumerate(values))
        if d:
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"><title>{escape(name)}</title>'
                         f'</path>')
    height = bottom + FONT + 10
    height = _x_label(parts, x_label, pad_l + plot_w / 2, height)
    height += 8
    legend_h = _legend(parts, [name for name, _ in series], pad_l, height + FONT, width)
    return _frame("".join(parts), title, width, height + legend_h + 4)
