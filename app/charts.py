"""Server-side SVG charts (no scripts, no CDN): line, bar and heat-map charts as safe markup."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 46, 16, 16, 44


def _frame(body: str, title: str, width: int = W, height: int = H) -> Markup:
    # the wrapper scrolls sideways on a phone, so it is focusable for keyboard users
    return Markup(  # noqa: S704 (every interpolated text is escaped by the callers below)
        f'<div class="chart-scroll" tabindex="0" role="region" aria-label="{escape(title)}">'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg></div>')


def line_chart(points: Sequence[tuple[str, float | None]], title: str, y_max: float = 1.0,
               y_format: str = "{:.0%}", color: str = "#1f6feb") -> Markup:
    """A line chart of (label, value) points; None values leave a gap."""
    n = len(points)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    parts = []
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        value = y_max * (1 - i / 4)
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#e4e7ec"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_format.format(value))}</text>')
    if n:
        step = plot_w / max(1, n - 1)
        path, dots = [], []
        for i, (label, value) in enumerate(points):
            x = PAD_L + (step * i if n > 1 else plot_w / 2)
            if i % max(1, n // 8) == 0 or i == n - 1:
                parts.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{escape(label)}</text>')
            if value is None:
                path.append(None)
                continue
            y = PAD_T + plot_h * (1 - min(value, y_max) / y_max)
            path.append((x, y))
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(label)}: '
                        f'{escape(y_format.format(value))}</title></circle>')
        segments, current = [], []
        for point in path:
            if point is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(point)
        if current:
            segments.append(current)
        for seg in segments:
            d = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f},{y:.1f}" for j, (x, y) in enumerate(seg))
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += dots
    return _frame("".join(parts), title)


def bar_chart(bars: Sequence[tuple[str, float]], title: str, y_max: float | None = None,
              y_format: str = "{:.0%}", color: str = "#1f6feb") -> Markup:
    """A vertical bar chart of (label, value)."""
    n = len(bars)
    top = y_max if y_max is not None else max([v for _, v in bars] + [1e-9])
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    parts = [f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{W - PAD_R}" y2="{PAD_T + plot_h}" stroke="#98a2b3"/>']
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(y_format.format(top * (1 - i / 4)))}</text>')
    if n:
        slot = plot_w / n
        for i, (label, value) in enumerate(bars):
            h = plot_h * (min(value, top) / top if top else 0)
            x = PAD_L + slot * i + slot * 0.15
            parts.append(f'<rect x="{x:.1f}" y="{PAD_T + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{escape(label)}: {escape(y_format.format(value))}</title></rect>')
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">'
                         f'{escape(label[:6])}</text>')
    return _frame("".join(parts), title)


def heat_map(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], title: str,
             value_format: str = "{:.0f}") -> Markup:
    """A grid of cells shaded by value (e.g. the RFM grid)."""
    cell, left, top = 44, 60, 24
    width, height = left + cell * len(cols) + 10, top + cell * len(rows) + 10
    peak = max([v for row in values for v in row] + [1e-9])
    parts = []
    for j, col in enumerate(cols):
        parts.append(f'<text x="{left + cell * j + cell / 2}" y="{top - 8}" text-anchor="middle">{escape(col)}</text>')
    for i, row in enumerate(rows):
        parts.append(f'<text x="{left - 6}" y="{top + cell * i + cell / 2 + 4}" text-anchor="end">{escape(row)}</text>')
        for j, value in enumerate(values[i]):
            alpha = 0.08 + 0.92 * (value / peak)
            parts.append(f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="#1f6feb" fill-opacity="{alpha:.2f}"><title>{escape(row)} {escape(cols[j])}: '
                         f'{escape(value_format.format(value))}</title></rect>')
            parts.append(f'<text x="{left + cell * j + cell / 2 - 1}" y="{top + cell * i + cell / 2 + 4}" '
                         f'text-anchor="middle">{escape(value_format.format(value))}</text>')
    return _frame("".join(parts), title, width, height)


PALETTE = ("#1f6feb", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#ee46bc", "#667085")


def _ticks(low: float, high: float, fmt: str) -> list[tuple[float, str]]:
    return [(low + (high - low) * i / 4, fmt.format(low + (high - low) * i / 4)) for i in range(5)]


def scatter_plot(points: Sequence[tuple[float, float, int]], title: str, x_label: str, y_label: str,
                 group_labels: Sequence[str] = (), x_format: str = "{:,.0f}", y_format: str = "{:,.0f}",
                 highlight: Sequence[tuple[float, float, str]] = (), log_x: bool = False,
                 log_y: bool = False) -> Markup:
    """A scatter plot of (x, y, group) points coloured by group, with optional labelled markers (e.g. centroids).

    ``log_x`` / ``log_y`` draw that axis on a log10(1 + v) scale (for skewed figures such as money), with tick
    labels in the original units.
    """
    import math

    def fx(v: float) -> float:
        return math.log10(1 + max(v, 0.0)) if log_x else v

    def fy(v: float) -> float:
        return math.log10(1 + max(v, 0.0)) if log_y else v

    pad_l, height = 78, H + 30
    plot_w, plot_h = W - pad_l - PAD_R, height - PAD_T - PAD_B - 24
    xs = [fx(p[0]) for p in points] + [fx(h[0]) for h in highlight]
    ys = [fy(p[1]) for p in points] + [fy(h[1]) for h in highlight]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y_lo, y_hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x_hi, y_hi = (x_hi if x_hi > x_lo else x_lo + 1), (y_hi if y_hi > y_lo else y_lo + 1)

    def sx(x: float) -> float:
        return pad_l + plot_w * (x - x_lo) / (x_hi - x_lo)

    def sy(y: float) -> float:
        return PAD_T + plot_h * (1 - (y - y_lo) / (y_hi - y_lo))

    def label(value: float, fmt: str, log: bool) -> str:
        return fmt.format(10 ** value - 1 if log else value)

    parts = [f'<rect x="{pad_l}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#e4e7ec"/>']
    for i in range(5):
        value = y_lo + (y_hi - y_lo) * i / 4
        parts.append(f'<text x="{pad_l - 6}" y="{sy(value) + 4:.1f}" text-anchor="end">'
                     f'{escape(label(value, y_format, log_y))}</text>')
        value = x_lo + (x_hi - x_lo) * i / 4
        parts.append(f'<text x="{sx(value):.1f}" y="{PAD_T + plot_h + 16}" text-anchor="middle">'
                     f'{escape(label(value, x_format, log_x))}</text>')
    parts.append(f'<text x="{pad_l + plot_w / 2:.1f}" y="{PAD_T + plot_h + 34}" text-anchor="middle">'
                 f'{escape(x_label)}{"（对数刻度）" if log_x else ""}</text>')
    parts.append(f'<text x="12" y="{PAD_T + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {PAD_T + plot_h / 2:.1f})">{escape(y_label)}'
                 f'{"（对数刻度）" if log_y else ""}</text>')
    for x, y, group in points:
        parts.append(f'<circle cx="{sx(fx(x)):.1f}" cy="{sy(fy(y)):.1f}" r="2.6" '
                     f'fill="{PALETTE[group % len(PALETTE)]}" fill-opacity="0.55"/>')
    for x, y, text in highlight:
        cx, cy = sx(fx(x)), sy(fy(y))
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none" stroke="#1d2430" stroke-width="2">'
                     f'<title>{escape(text)}</title></circle>')
        parts.append(f'<text x="{cx + 9:.1f}" y="{cy - 6:.1f}" font-weight="700">{escape(text)}</text>')
    for i, text in enumerate(group_labels):
        x = pad_l + 8 + (i % 4) * 140
        y = height - 8 + 16 * (i // 4)
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{y}">{escape(text)}</text>')
    return _frame("".join(parts), title, W, height + 16 * max(0, (len(group_labels) - 1) // 4))


def multi_line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str,
                     y_format: str = "{:.0f}") -> Markup:
    """Several lines over the same x labels, with a legend (e.g. monthly revenue per lifecycle stage)."""
    height = H + 24
    plot_w, plot_h = W - PAD_L - PAD_R, height - PAD_T - PAD_B - 24
    top = max([v for _, values in series for v in values] + [1e-9])
    parts = []
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#e4e7ec"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(y_format.format(top * (1 - i / 4)))}</text>')
    n = len(labels)
    step = plot_w / max(1, n - 1)
    for i, label in enumerate(labels):
        if i % max(1, n // 8) == 0 or i == n - 1:
            parts.append(f'<text x="{PAD_L + step * i:.1f}" y="{PAD_T + plot_h + 16}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    for k, (name, values) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        d = " ".join(f"{'M' if i == 0 else 'L'}{PAD_L + step * i:.1f},{PAD_T + plot_h * (1 - v / top):.1f}"
                     for i, v in enumerate(values))
        if d:
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"><title>{escape(name)}</title>'
                         f'</path>')
        x = PAD_L + 8 + k * 120
        parts.append(f'<rect x="{x}" y="{height - 17}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{height - 8}">{escape(name)}</text>')
    return _frame("".join(parts), title, W, height)
