"""The ladder's Pareto chart from its rows: pure functions, no models, no Gradio."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from ..palette import COLORS, TITLES, frame_figure

if TYPE_CHECKING:  # types only: figures never import the code that runs models
    from .core import Ladder, LadderRow

Box = tuple[float, float, float, float]  # (left, top, right, bottom) in pixels of the plot area, y down
Segment = tuple[tuple[float, float], tuple[float, float]]  # ((x, y), (x, y)) in the same pixels


@dataclass(frozen=True)
class Screen:
    """Where the chart is drawn: its plot area in pixels and the labels' type size."""

    plot: tuple[float, float]  # (width, height)
    font: float  # px


# The screens the front's labels are placed for, each a few pixels under the plot area measured in
# Chromium (tests/ladder/test_figures.py) with the 1216 px the page gives the figure at 1280 px. The
# page (520 px high, 12 px type) leaves about 1140x357 px; presenter mode on a 1280x720 projector
# (page.js: 365 px high, page.css #ladder-chart; 16-18 px type, so larger margins for the ticks, the
# axis titles and the legend) about 1126x192. page.js swaps in the presenter set (layout.meta).
PAGE = Screen((1130.0, 350.0), 12)
PRESENTER = Screen((1121.0, 185.0), 16)  # page.js MIN_FONT.text
# The labels' font (and the limit line's note's): Arial's widths, which Liberation Sans shares on Linux,
# hold the estimate on any machine; plotly's default family falls back to Verdana on a Mac, 15% wider.
LABEL_FAMILY = "Arial, 'Liberation Sans', Helvetica, sans-serif"
GAP = 3  # px between a label and its marker
# Where a label may go, in order: right, left, above, below, then the four corners; each beside its
# marker first, then 20, 45 and 80 px further out with a leader line back to it.
DIRECTIONS = ((1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (1, 1), (-1, -1), (-1, 1))
PUSHES = (0, 20, 45, 80)
LEADER_THROUGH = 1000  # px² a leader through a marker or a label costs: as bad as a label half over one
LINE_CROSSED = 2  # steps out a line through a label is worth: one through its text reads as struck out
# How far each symbol reaches from its centre, in multiples of half its size (plotly's symbol paths)
REACH = {"diamond": 1.3, "diamond-x": 1.3, "triangle-up": 1.16, "triangle-down": 1.16}


# Arial's advance widths in em, in classes (Liberation Sans has the same ones); the rest of the
# lower case and the digits are 0.5-0.556, the rest of the upper case 0.61-0.78.
ADVANCE = {**dict.fromkeys("ijl|", 0.222), **dict.fromkeys("ft.,:;'!I ", 0.278), **dict.fromkeys("r-()", 0.333)}
ADVANCE |= {"m": 0.833, "w": 0.722, "M": 0.833, "W": 0.944, "%": 0.889}
LINE_EM = 1.1  # a line's height: its box in Chromium is 1.06 em


def text_px(text: str, size: float) -> tuple[float, float]:
    """(width, height) of one line of Arial at `size` px, a few % to spare (5% in Chromium); a symbol (⚠) 1 em."""
    em = sum(ADVANCE.get(c, 0.556 if c.islower() or c.isdigit() else 0.69 if c.isascii() else 1.0) for c in text)
    return 1.03 * em * size, LINE_EM * size


@dataclass
class Frame:
    """The plot area in pixels and the axis ranges that map data into it."""

    width: float
    height: float
    x_range: tuple[float, float]  # log10(ms), left to right
    y_range: tuple[float, float]  # bottom to top: reversed (larger at the bottom) where y is an error

    def at(self, ms: float, y: float) -> tuple[float, float]:
        """A point's pixel in the plot area, from its top left corner."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return (math.log10(ms) - x0) / (x1 - x0) * self.width, (y1 - y) / (y1 - y0) * self.height


@dataclass
class Marker:
    ms: float
    y: float
    radius: float  # px: half the symbol's size times its reach


@dataclass
class Label:
    text: str
    marker: int  # index into the markers
    box: Box
    leader: bool  # placed away from its marker, a line points back


def _padded(low: float, high: float, pad_px: float, length_px: float) -> tuple[float, float]:
    """(low, high) widened so that `pad_px` of the axis's `length_px` lie beyond the data at each end."""
    span = high - low or abs(high) or 1.0
    low, high = (low, high) if high > low else (low - span / 2, high + span / 2)
    extra = (high - low) * pad_px / (length_px - 2 * pad_px)
    return low - extra, high + extra


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share (0 when apart)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _covers(box: Box, segment: Segment) -> bool:
    """Whether the segment passes through the box (Liang-Barsky: clip it to the box's four sides)."""
    (x0, y0), (x1, y1) = segment
    enter, leave = 0.0, 1.0  # the part of the segment inside, as fractions of its length
    for p, q in ((x0 - x1, x0 - box[0]), (x1 - x0, box[2] - x0), (y0 - y1, y0 - box[1]), (y1 - y0, box[3] - y0)):
        if p == 0:
            if q < 0:  # parallel to this side and outside it
                return False
        elif p < 0:
            enter = max(enter, q / p)
        else:
            leave = min(leave, q / p)
    return enter <= leave


def _cross(a: Segment, b: Segment) -> bool:
    """Whether two segments cross (touching at an end does not count: every front line meets its points)."""

    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return side(*a, b[0]) * side(*a, b[1]) < 0 and side(*b, a[0]) * side(*b, a[1]) < 0


def _candidates(x: float, y: float, r: float, w: float, h: float):
    """(box, how far out) for every place a label of w x h px may take beside its marker at (x, y)."""
    for push in PUSHES:
        for dx, dy in DIRECTIONS:
            reach = r + GAP + push  # beyond the marker's square (a corner, too: a square marker fills it)
            cx, cy = x + dx * (reach + w / 2), y + dy * (reach + h / 2)
            yield (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), push


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def place_labels(
    frame: Frame,
    font: float,
    markers: list[Marker],
    labels: list[tuple[int, str]],
    notes: list[Box],
    lines: list[Segment],
) -> list[Label]:
    """Each label (marker index, text) placed clear of the markers, of the `notes` already written and
    of each other, inside the plot area, and crossing as few `lines` as it can: greedily, in the
    order given, in reverse, top down and bottom up (a crowded corner goes better one way or
    another), the best kept."""
    height = {label: frame.at(markers[label[0]].ms, markers[label[0]].y)[1] for label in labels}
    orders = (labels, labels[::-1], sorted(labels, key=height.get), sorted(labels, key=height.get, reverse=True))
    tries = [_greedy(frame, font, markers, order, notes, lines) for order in orders]
    placed, _ = min(tries, key=lambda placed_cost: placed_cost[1])
    return sorted(placed, key=lambda label: labels.index((label.marker, label.text)))


def _greedy(frame: Frame, font: float, markers: list[Marker], labels, notes: list[Box], lines: list[Segment]):
    """In order, each label takes a candidate box that stays inside the plot area and clear of every
    marker, note and label placed before it (and whose leader, if it has one, runs through none of
    them); among those, the one nearest its marker that crosses the fewest lines (one step further out
    is worth half a line crossed), the first in DIRECTIONS of equals; where no box is clear, the one
    that covers least. Then twice more each in turn, the others all placed, moves where it would cost
    less (a label placed later may have left it a better spot). Returns the labels and what they cost:
    (px² covered, steps out + lines crossed)."""
    spots = [frame.at(m.ms, m.y) for m in markers]
    rounds = [(x - m.radius, y - m.radius, x + m.radius, y + m.radius) for m, (x, y) in zip(markers, spots)]
    area = (0.0, 0.0, frame.width, frame.height)
    chosen = {}  # position in `labels` -> (box, how far out)

    def around(k):
        """What label k must not cover: the markers, the notes, the other labels and their leaders."""
        placed = [(spots[labels[j][0]], *chosen[j]) for j in chosen if j != k]
        return [*notes, *rounds, *(box for _, box, _ in placed)], [(at, _centre(box)) for at, box, out in placed if out]

    def cost(k, option, solid, leaders):
        box, push = option
        covered = (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, area)  # outside the plot
        covered += sum(_overlap(box, other) for other in solid)
        covered += LEADER_THROUGH * sum(_covers(box, leader) for leader in leaders)
        crossed = sum(_covers(box, line) for line in lines)
        if push:  # its own leader, from the marker to the box's centre, must not run through a box either
            leader = (spots[labels[k][0]], _centre(box))
            through = sum(_covers(other, leader) for other in solid if other is not rounds[labels[k][0]])
            covered += LEADER_THROUGH * through
            crossed += sum(_cross(leader, line) for line in [*lines, *leaders])
        return covered, PUSHES.index(push) + LINE_CROSSED * crossed

    for _ in range(3):
        for k, (index, text) in enumerate(labels):
            here = around(k)
            options = _candidates(*spots[index], markers[index].radius, *text_px(text, font))
            best = min(options, key=lambda option: cost(k, option, *here))  # the first of equals: DIRECTIONS' order
            if k not in chosen or cost(k, best, *here) < cost(k, chosen[k], *here):
                chosen[k] = best
    total = tuple(map(sum, zip(*(cost(k, chosen[k], *around(k)) for k in chosen)))) or (0.0, 0)
    return [Label(text, index, chosen[k][0], chosen[k][1] > 0) for k, (index, text) in enumerate(labels)], total


def _named(row: LadderRow) -> str:
    return row.label + (" ⚠" if row.strays else "")


def pareto_labels(
    ladder: Ladder, keep: float, fidelity_limit: float, screen: Screen = PRESENTER
) -> tuple[Frame, list[Marker], list[Label]]:
    """The chart's plot area on `screen` with its axis ranges, every measured point's marker, and the
    Pareto front's labels placed clear of the markers, of the limit line's note and of each other
    (pareto_figure draws them). The ranges leave each marker room at the edges on the tightest screen
    (presenter mode's), so that they are the same on both."""
    measured, kept = _measured(ladder), _kept(ladder)
    largest = max((r.size_mb for r in measured if r.size_mb), default=1.0)
    markers = [
        Marker(r.latency.median_ms, kept(r), REACH.get(SYMBOLS.get(r.variant), 1.0) * _size(r, largest) / 2 + 1)
        for r in measured
    ]
    index = {(r.model, r.variant): i for i, r in enumerate(measured)}
    front = [(index[(r.model, r.variant)], _named(r)) for r in ladder.frontier()]
    pad = max((m.radius for m in markers), default=10.0) + 4  # no marker cut at an edge
    # and, above and below, room for a label over or under the front's point at the edge
    pad_y = max([pad, *(markers[i].radius + GAP + LINE_EM * PRESENTER.font for i, _ in front)])
    (width, height), tightest = screen.plot, PRESENTER.plot
    logs = [math.log10(m.ms) for m in markers] or [0.0]
    line = _limit(ladder, keep, fidelity_limit)
    ys = [m.y for m in markers] + ([line[0]] if line else [])
    if ladder.judged_by != "accuracy":
        ys.append(0.0)  # fp32's own error: the top
    low, high = _padded(min(ys, default=0.0), max(ys, default=1.0), pad_y, tightest[1])
    y_range = (low, high) if ladder.judged_by == "accuracy" else (high, low)  # an error: reversed
    frame = Frame(width, height, _padded(min(logs), max(logs), pad, tightest[0]), y_range)
    notes, lines = [], []
    if line:  # plotly writes the limit line's note above its right end
        w, h = text_px(line[1], screen.font)
        y = frame.at(10 ** frame.x_range[0], line[0])[1]
        notes.append((width - w, y - h, width, y))
        lines.append(((0.0, y), (width, y)))
    steps = [frame.at(markers[i].ms, markers[i].y) for i, _ in front]
    for (x0, y0), (x1, y1) in zip(steps, steps[1:]):  # the front's line goes across, then up ("hv")
        lines += [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1))]
    return frame, markers, place_labels(frame, screen.font, markers, front, notes, lines)


def _measured(ladder: Ladder) -> list[LadderRow]:
    if ladder.judged_by == "accuracy":
        return [r for r in ladder.measured() if r.accuracy is not None]
    return [r for r in ladder.measured() if r.error is not None]


def _kept(ladder: Ladder):
    """y of a row: its share of BERT fp32's accuracy (or its accuracy, with no reference), or its error."""
    reference = ladder.reference.accuracy or 0.0
    if ladder.judged_by != "accuracy":
        return lambda r: r.error
    return (lambda r: r.accuracy / reference) if reference else (lambda r: r.accuracy)


def _size(row: LadderRow, largest: float) -> float:
    return 14 + 34 * (row.size_mb or 0) / largest  # px across: area for the size on disk


def _limit(ladder: Ladder, keep: float, fidelity_limit: float) -> tuple[float, str] | None:
    """The dashed line and its note: `keep` of BERT fp32's accuracy, or `fidelity_limit` of the spread."""
    if ladder.judged_by != "accuracy":
        return (fidelity_limit, f"{fidelity_limit:.0%} of the spread") if fidelity_limit else None
    if not keep or not ladder.reference.accuracy:  # no accuracy to keep a share of: no line
        return None
    return keep, f"keeps {keep:.0%}"


def pareto_figure(ladder: Ladder, keep: float, fidelity_limit: float) -> go.Figure:
    """Latency (x, log) against what each rung keeps (y): the share of BERT fp32's accuracy, or, where
    accuracy cannot tell the rungs apart (ladder.judged_by), the median logit error against the
    same model in fp32 (as a share of fp32's logit spread, axis reversed so that up is still better);
    marker area for the size on disk; the Pareto front, its points labelled; the `keep` or
    `fidelity_limit` line dashed."""
    by_accuracy = ladder.judged_by == "accuracy"
    measured, kept = _measured(ladder), _kept(ladder)
    largest = max((r.size_mb for r in measured if r.size_mb), default=1.0)
    fig = go.Figure()
    # One trace per variant, drawn with its own symbol and coloured by model: the legend names the
    # points; the front's points carry their names as labels.
    for variant in dict.fromkeys(r.variant for r in measured):
        rows = [r for r in measured if r.variant == variant]
        fig.add_trace(
            go.Scatter(
                x=[r.latency.median_ms for r in rows],
                y=[kept(r) for r in rows],
                mode="markers",
                name=variant,
                marker={
                    "symbol": SYMBOLS.get(variant, "circle"),
                    "color": [COLORS[r.model] for r in rows],
                    "size": [_size(r, largest) for r in rows],
                    "sizemode": "diameter",
                    "opacity": 0.8,
                    "line": {"width": 1, "color": "#333"},
                },
                text=[_named(r) for r in rows],
                customdata=[[r.size_mb, r.latency.p90_ms, r.accuracy, r.error] for r in rows],
                hovertemplate="%{text}: %{x:.1f} ms (p90 %{customdata[1]:.1f}), %{customdata[0]:.0f} MB, "
                "accuracy %{customdata[2]:.1%}, median |Δlogit| %{customdata[3]:.2%} of fp32's spread"
                "<extra></extra>",
            )
        )
    for side in ("bert", "distilbert"):  # the colour key: legend entries only
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=TITLES[side], marker={"color": COLORS[side], "size": 12}
            )
        )
    front = ladder.frontier()
    fig.add_trace(
        go.Scatter(
            x=[r.latency.median_ms for r in front],
            y=[kept(r) for r in front],
            mode="lines",
            name="Pareto front",
            line={"color": "#555", "dash": "dot", "shape": "hv"},
            hoverinfo="skip",
        )
    )
    limit = _limit(ladder, keep, fidelity_limit)
    if limit:
        note = {"annotation_text": limit[1], "annotation_font_family": LABEL_FAMILY}  # measured as the labels are
        fig.add_hline(y=limit[0], line_dash="dash", line_color="#999", **note)
    # The front's labels placed for the page, and for presenter mode (larger type in a lower plot):
    # page.js draws the second set in place of the first.
    notes = [note.to_plotly_json() for note in fig.layout.annotations]  # the limit line's
    placed = {screen: pareto_labels(ladder, keep, fidelity_limit, screen) for screen in (PAGE, PRESENTER)}
    drawn = {
        screen: [_annotation(frame, markers[label.marker], label) for label in labels]
        for screen, (frame, markers, labels) in placed.items()
    }
    fig.update_layout(annotations=notes + drawn[PAGE], meta={"presenter_annotations": notes + drawn[PRESENTER]})
    frame = placed[PAGE][0]  # the axis ranges are the same on both
    medians = [r.latency.median_ms for r in measured] or [1.0]
    nice = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
    ticks = [t for t in nice if min(medians) / 2 <= t <= 2 * max(medians)]
    fig.update_xaxes(
        title_text=f"latency, median ms ({ladder.seq_len} tokens, batch 1; log scale)",
        type="log",
        range=list(frame.x_range),  # the markers' room at both ends (a log axis's range is in log10)
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
    )
    if by_accuracy:
        reference = ladder.reference.accuracy
        fig.update_yaxes(title_text="accuracy kept" if reference else "accuracy", tickformat=".0%")
        title = "The compression ladder: faster to the left, more of BERT fp32's accuracy up, area = size on disk"
    else:
        # ticks from 0 down: the room above fp32's markers would read "-1.0%"
        fig.update_yaxes(
            title_text="|Δlogit| vs fp32, % of spread", tickformat=".1%", tickvals=_steps(frame.y_range[0])
        )
        title = "The compression ladder: faster to the left, closer to fp32's logits up, area = size on disk"
    fig.update_yaxes(range=list(frame.y_range))  # reversed for an error: closer to fp32 is up
    frame_figure(fig, title=title, height=520, legend={"orientation": "h", "y": -0.18}, top=60)
    return fig


def _steps(top: float) -> list[float]:
    """0 and a round step up to `top`, at most six steps."""
    step = next((s for s in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if top / s <= 6), top / 6)
    return [k * step for k in range(int(top / step) + 1)]


def _annotation(frame: Frame, marker: Marker, label: Label) -> dict:
    """A label as plotly draws it: its box centred where the placer put it, shifted from its point (or
    at the end of a leader line from it); pixels, so the same offsets hold at any figure size."""
    (x, y), (cx, cy) = frame.at(marker.ms, marker.y), _centre(label.box)
    dx, dy = cx - x, cy - y
    note = {
        "x": math.log10(marker.ms),  # annotations on a log axis take log10
        "y": marker.y,
        "text": label.text,
        "font": {"family": LABEL_FAMILY},
        "xanchor": "center",
        "yanchor": "middle",
        "showarrow": label.leader,
    }
    if label.leader:
        return note | {
            "ax": dx,
            "ay": dy,
            "arrowhead": 0,
            "arrowwidth": 1,
            "arrowcolor": "#555",
            "standoff": marker.radius,
        }
    return note | {"xshift": dx, "yshift": -dy}  # plotly's yshift points up


# fp32 round, bf16 square, int8 diamond, crossed when compiled; ONNX Runtime as triangles
SYMBOLS = {
    "fp32": "circle",
    "bf16": "square",
    "bf16-compiled": "square-x",
    "int8": "diamond",
    "int8-compiled": "diamond-x",
    "onnx-fp32": "triangle-up",
    "onnx-int8": "triangle-down",
}
