"""Server-side SVG charts (no scripts, no CDN): line, bar and heat-map charts as safe markup."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 46, 16, 16, 44


def _frame(body: str, title: str, width: int = W, height: int = H) -> Markup:
    return Markup(  # noqa: S704 (every interpolated text is escaped by the callers below)
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>')


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
