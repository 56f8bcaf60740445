"""The dashboard's plots as data for server-side SVG (``staff/_charts.html``): bars with their
geometry computed here, drawn with SVG attributes only (the Content-Security-Policy allows no
inline style), each next to a table with the same numbers for screen readers and keyboards."""

from __future__ import annotations

import dataclasses

WIDTH = 640
HEIGHT = 200
LABEL_H = 28     # below the plot: the category labels
TOP = 16         # above the tallest bar: its count
BAR_H = 22       # a horizontal bar (pass rates)
NAME_W = 180     # left of a horizontal bar: its name


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str          # the value as the bar's caption says it
    x: float
    y: float
    width: float
    height: float
    tone: str = ""      # a CSS class: "" (neutral), "late" (after the due date), "low" (a failing rate)


def columns(items: list[tuple[str, float, str]], tones: list[str] | None = None, width: int = WIDTH,
            height: int = HEIGHT) -> dict:
    """Vertical bars (a histogram, submissions over time): (label, value, caption) each."""
    top = max((value for _, value, _ in items), default=0) or 1
    slot = width / max(len(items), 1)
    plot = height - LABEL_H - TOP
    bars = []
    for index, (label, value, shown) in enumerate(items):
        h = plot * value / top
        bars.append(Bar(label, value, shown, round(index * slot + slot * 0.1, 2), round(TOP + plot - h, 2),
                        round(slot * 0.8, 2), round(h, 2), (tones or [""] * len(items))[index]))
    every = max(1, len(items) // 12)  # at most a dozen labels under the bars
    return {"width": width, "height": height, "bars": bars, "base": TOP + plot, "label_every": every,
            "slot": slot}


def rows(items: list[tuple[str, float, str]], width: int = WIDTH, low: float = 0.5) -> dict:
    """Horizontal bars of rates between 0 and 1 (each check's pass rate): (name, rate, caption)."""
    span = width - NAME_W - 60
    bars = [Bar(label, value, shown, NAME_W, index * (BAR_H + 6), round(span * value, 2), BAR_H,
                "low" if value < low else "") for index, (label, value, shown) in enumerate(items)]
    return {"width": width, "height": max(len(items), 1) * (BAR_H + 6), "bars": bars, "name_w": NAME_W,
            "span": span}
