"""Small inline SVG charts for the HTML report, drawn in Python so the page needs no library.

Colours come from CSS classes (``f-create``, ``s-0`` …) defined once in the page's style,
so the charts follow the page's palette and its dark mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

__all__ = ["Column", "line_chart", "run_label", "stacked_bars"]

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Column:
    """One run on the x axis."""

    label: str
    values: Mapping[str, int]
    current: bool = False


def run_label(started_at: str) -> str:
    """``Nov 24 02:00`` from an ISO time; the raw text if it is not one."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at[:16]
    return f"{_MONTHS[moment.month - 1]} {moment.day} {moment:%H:%M}"


def stacked_bars(columns: Sequence[Column], series: Sequence[str], title: str) -> str:
    """One bar per run, stacked by series (action kinds), the current run outlined."""
    top, step = _scale(max((sum(c.values.get(s, 0) for s in series) for c in columns), default=0))
    slot = _plot_width() / max(len(columns), 1)
    bar = min(slot * 0.6, 48)
    parts = _axes(top, step)
    for index, column in enumerate(columns):
        x = LEFT + slot * index + (slot - bar) / 2
        base = 0
        for name in series:
            value = column.values.get(name, 0)
            if not value:
                continue
            y0, y1 = _y(base, top), _y(base + value, top)
            tip = f"{column.label} · {name}: {value}"
            parts.append(
                f'<rect class="f-{escape(name)}" x="{x:.1f}" y="{y1:.1f}" width="{bar:.1f}" '
                f'height="{y0 - y1:.1f}"><title>{escape(tip)}</title></rect>'
            )
            base += value
        if column.current:
            parts.append(
                f'<rect class="current" x="{x - 3:.1f}" y="{_y(base, top) - 3:.1f}" '
                f'width="{bar + 6:.1f}" height="{_y(0, top) - _y(base, top) + 3:.1f}"/>'
            )
        parts.append(_x_label(LEFT + slot * (index + 0.5), column, index, len(columns)))
    return _svg(parts, title)


def line_chart(columns: Sequence[Column], series: Sequence[str], title: str) -> str:
    """One line per series (rules) across runs, with a legend under the plot."""
    top, step = _scale(max((v for c in columns for v in c.values.values()), default=0))
    slot = _plot_width() / max(len(columns), 1)
    parts = _axes(top, step)
    for number, name in enumerate(series):
        points = [
            (LEFT + slot * (i + 0.5), _y(column.values.get(name, 0), top))
            for i, column in enumerate(columns)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="s-{number % 8}" points="{path}"/>')
        for (x, y), column in zip(points, columns, strict=True):
            tip = f"{column.label} · {name}: {column.values.get(name, 0)}"
            parts.append(
                f'<circle class="s-{number % 8}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(tip)}</title></circle>"
            )
    for index, column in enumerate(columns):
        parts.append(_x_label(LEFT + slot * (index + 0.5), column, index, len(columns)))
    return _svg(parts, title)


def _axes(top: int, step: int) -> list[str]:
    parts = []
    for tick in range(0, top + 1, step):
        y = _y(tick, top)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="ax" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_compact(tick)}</text>"
        )
    return parts


def _x_label(x: float, column: Column, index: int, count: int) -> str:
    """Every label when they fit; otherwise every n-th, and always the current run."""
    step = max(1, -(-count // 8))
    if index % step and not column.current and index != count - 1:
        return ""
    date, _, time = column.label.rpartition(" ")
    cls = "ax current-label" if column.current else "ax"
    y = HEIGHT - BOTTOM + 16
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y}" text-anchor="middle">{escape(date or time)}'
        f'<tspan x="{x:.1f}" dy="13">{escape(time if date else "")}</tspan></text>'
    )


def _svg(parts: list[str], title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _plot_width() -> float:
    return WIDTH - LEFT - RIGHT


def _y(value: float, top: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _scale(value: int) -> tuple[int, int]:
    """Axis top and tick step: at most five ticks on a round step (1, 2, 2.5, 3, 5 x 10^n)."""
    value = max(value, 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 3, 5):
            step = factor * magnitude
            count = -(-value // step)
            if float(step).is_integer() and count <= 5:
                return int(step * max(count, 2)), int(step)
        magnitude *= 10


def _compact(value: int) -> str:
    return f"{value // 1000}k" if value >= 10_000 and value % 1000 == 0 else str(value)
