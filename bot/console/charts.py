"""The geometry of the console's inline SVG charts; their markup is in templates/macros.html."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from bot.console.formats import hours

ROW, LABEL_W, WIDTH = 22, 170, 400  # bar charts: row height, label column (24 characters), whole width
LABEL_CHARS = 24
COL, HEIGHT = 64, 140  # column charts: column pitch, whole height


@dataclass(frozen=True)
class Bar:
    label: str
    y: int  # top of its row
    a: float  # the solid bar's width (first value)
    b: float  # the pale bar's width (second value)
    value: str  # both values, formatted
    value_x: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    legend: tuple[str, str]
    label_w: int = LABEL_W
    width: int = WIDTH

    @property
    def height(self) -> int:
        return ROW * len(self.bars) + 4


@dataclass(frozen=True)
class Column:
    label: str
    x: int
    mid: float  # where its labels are centred
    top: float  # y of the column's top
    height: float
    value: str
    value_y: float  # y of the value written above it


@dataclass(frozen=True)
class ColumnChart:
    title: str
    columns: list[Column] = field(default_factory=list)
    height: int = HEIGHT
    col_w: int = COL - 16

    @property
    def width(self) -> int:
        return max(COL * len(self.columns) + 16, 200)


def bars(
    title: str,
    items: Sequence[tuple[str, float, float]],
    fmt: Callable[[float], str] = hours,
    *,
    legend: tuple[str, str] = ("median", "p90"),
) -> BarChart:
    """A horizontal bar chart: per label a solid bar (first value) over a pale one (second)."""
    top = max((max(a, b) for _, a, b in items), default=0) or 1
    span = WIDTH - LABEL_W - 95
    rows = []
    for i, (label, a, b) in enumerate(items):
        wa, wb = span * a / top, span * b / top
        rows.append(Bar(_fit(label), i * ROW, wa, wb, f"{fmt(a)} / {fmt(b)}", LABEL_W + max(wa, wb) + 6))
    return BarChart(title, rows, legend)


def columns(title: str, items: Sequence[tuple[str, float]], fmt: Callable[[float], str] = hours) -> ColumnChart:
    """A column chart (e.g. the monthly trend)."""
    top = max((v for _, v in items), default=0) or 1
    out = []
    for i, (label, v) in enumerate(items):
        hgt = (HEIGHT - 40) * v / top
        x = i * COL + 8
        out.append(Column(label, x, x + (COL - 16) / 2, HEIGHT - 20 - hgt, hgt, fmt(v), HEIGHT - 24 - hgt))
    return ColumnChart(title, out)


def _fit(label: str) -> str:
    """A label that fits its column whole, or cut with an ellipsis (never clipped at its start)."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"
