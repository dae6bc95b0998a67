"""Server-side SVG charts: pure functions from numbers to markup, no JS library.

Colours come from CSS classes (``s0`` ... ``s7``) so the page's stylesheet
decides them and no inline style is needed (the CSP forbids inline styles).
"""

from __future__ import annotations

from markupsafe import escape

SERIES_CLASSES = 8


def stacked_bars(labels: list[str], series: dict[str, list[int]], title: str,
                 width: int = 640, height: int = 220) -> str:
    """A stacked bar per label (day), one colour per series, with a legend."""
    pad_left, pad_bottom, pad_top = 32, 34, 10
    legend = _legend_positions([f"{name} ({sum(values)})" for name, values in series.items()], width, pad_left)
    legend_h = 20 * (1 + max((row for _, row in legend), default=0))
    plot_h = height - pad_bottom - pad_top
    n = max(1, len(labels))
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max([1, *totals])
    peak += peak % 2  # even, so the middle grid line is a whole number
    step = (width - pad_left - 8) / n
    bar_w = max(4.0, step * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + legend_h}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for frac in (0, 0.5, 1):
        y = pad_top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{pad_left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{pad_left - 4}" y="{y + 4:.1f}" text-anchor="end">{round(peak * frac)}</text>')
    for i, label in enumerate(labels):
        x = pad_left + i * step + (step - bar_w) / 2
        y = pad_top + plot_h
        for k, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / peak
            y -= h
            parts.append(f'<rect class="s{k % SERIES_CLASSES}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}"><title>{escape(name)} {escape(label)}: {values[i]}</title></rect>')
        if n <= 16 or i % 2 == 0:
            parts.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{pad_top + plot_h + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for k, (name, (lx, row)) in enumerate(zip(series, legend, strict=True)):
        ly = height + 20 * row
        parts.append(f'<rect class="s{k % SERIES_CLASSES}" x="{lx:.0f}" y="{ly - 10}" width="12" height="12"/>'
                     f'<text class="legend" x="{lx + 16:.0f}" y="{ly}">{escape(name)} ({sum(series[name])})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend_positions(labels: list[str], width: int, left: int) -> list[tuple[float, int]]:
    """(x, row) of each legend entry, flowing left to right and wrapping (no text overlaps)."""
    positions, x, row = [], float(left), 0
    for label in labels:
        w = 16 + 7.2 * len(label) + 18  # swatch + text at ~13px + gap
        if x > left and x + w > width:
            x, row = float(left), row + 1
        positions.append((x, row))
        x += w
    return positions


def hbars(items: list[tuple[str, int]], title: str, width: int = 640) -> str:
    """Horizontal bars, one per (label, value)."""
    row_h, label_w = 28, 170
    height = max(1, len(items)) * row_h + 8
    peak = max([1, *(v for _, v in items)])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = (width - label_w - 60) * value / peak
        parts.append(f'<text class="legend" x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="s{i % SERIES_CLASSES}" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="18"/>'
                     f'<text class="legend" x="{label_w + w + 6:.1f}" y="{y + 17}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
