"""The Ladder's Pareto chart labels its front without overlap: the placer's own boxes on a crowded
ladder, then the boxes Chromium draws at 1280x720, on the page and in presenter mode (page.js)."""

import re

import pytest

from distilbert_demo import resources
from distilbert_demo.ladder import core, figures
from distilbert_demo.measure import LatencyStats

from ..figure_page import BOX, open_figure

# (variant, median ms, correct of 1000, median |Δlogit| over the spread) per model: seven rungs each,
# the fast ones bunched as on a laptop, so that the front's labels crowd.
TRAINED = {
    "bert": [
        ("fp32", 100, 920, 0),
        ("bf16", 60, 920, 0.002),
        ("bf16-compiled", 45, 920, 0.002),
        ("int8", 40, 915, 0.008),
        ("int8-compiled", 30, 910, 0.009),
        ("onnx-fp32", 70, 920, 0),
        ("onnx-int8", 35, 915, 0.008),
    ],
    "distilbert": [
        ("fp32", 50, 900, 0),
        ("bf16", 30, 900, 0.002),
        ("bf16-compiled", 22, 900, 0.002),
        ("int8", 20, 895, 0.008),
        ("int8-compiled", 15, 890, 0.02),
        ("onnx-fp32", 35, 900, 0),
        ("onnx-int8", 17, 893, 0.009),
    ],
}
# Untrained twins, judged by logit error: a front of six DistilBERT rungs, BERT onnx-int8 the worst
# (the reversed axis's lower edge).
TWINS = {
    "bert": [
        ("fp32", 7.5, 500, 0),
        ("bf16", 5.0, 500, 0.008),
        ("bf16-compiled", 4.6, 500, 0.009),
        ("int8", 3.9, 500, 0.011),
        ("int8-compiled", 3.4, 500, 0.014),
        ("onnx-fp32", 3.1, 500, 0),
        ("onnx-int8", 1.9, 500, 0.045),
    ],
    "distilbert": [
        ("fp32", 3.8, 500, 0),
        ("bf16", 2.3, 500, 0.009),
        ("bf16-compiled", 2.0, 500, 0.012),
        ("int8", 1.6, 500, 0.018),
        ("int8-compiled", 1.3, 500, 0.025),
        ("onnx-fp32", 2.5, 500, 0),
        ("onnx-int8", 1.0, 500, 0.035),
    ],
}
SIZES = {"bert": 420, "distilbert": 255}  # MB in fp32; bf16 halves it, int8 about a quarter


def crowded(rungs: dict, untrained: bool) -> core.Ladder:
    rows = []
    for model, variants in rungs.items():
        for variant, ms, correct, error in variants:
            row = core.LadderRow(model, model, variant, True, latency=LatencyStats.from_samples([ms] * 5, 0))
            row.correct, row.total = correct, 1000
            row.median_abs_diff_vs_fp32, row.logit_spread, row.agreement_with_fp32 = error, 1.0, 1.0
            row.size_mb = SIZES[model] * (0.5 if "bf16" in variant else 0.27 if "int8" in variant else 1.0)
            rows.append(row)
    return core.Ladder("sentiment", rows, 128, "set", 1000, "cpu", untrained=untrained)


LADDERS = {"trained": crowded(TRAINED, untrained=False), "twins": crowded(TWINS, untrained=True)}


def apart(a, b, tolerance: float = 0.0) -> bool:
    """Two (left, top, right, bottom) boxes share no area (touching, or within `tolerance`, is apart)."""
    return a[2] <= b[0] + tolerance or b[2] <= a[0] + tolerance or a[3] <= b[1] + tolerance or b[3] <= a[1] + tolerance


def inside(box, area) -> bool:
    return area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1] and box[3] <= area[3]


@pytest.mark.parametrize("screen", [figures.PAGE, figures.PRESENTER], ids=["page", "presenter"])
@pytest.mark.parametrize("name", list(LADDERS))
def test_the_placer_keeps_each_label_clear_of_the_others_and_of_every_marker(name, screen):
    ladder = LADDERS[name]
    assert ladder.judged_by == ("accuracy" if name == "trained" else "fidelity")
    frame, markers, labels = figures.pareto_labels(ladder, core.KEEP, core.FIDELITY_LIMIT, screen)
    front = ladder.frontier()
    assert len(front) >= 6  # crowded
    assert [label.text for label in labels] == [r.label + (" ⚠" if r.strays else "") for r in front]
    area = (0, 0, frame.width, frame.height)
    rounds = []
    for marker in markers:
        x, y = frame.at(marker.ms, marker.y)
        rounds.append((x - marker.radius, y - marker.radius, x + marker.radius, y + marker.radius))
        assert inside(rounds[-1], area), marker  # no marker cut at an edge
    for i, label in enumerate(labels):
        assert inside(label.box, area), label
        assert all(apart(label.box, other.box) for other in labels[i + 1 :]), label
        assert all(apart(label.box, box) for box in rounds), label
    # the figure draws these labels on the page and hands page.js the presenter set
    fig = figures.pareto_figure(ladder, core.KEEP, core.FIDELITY_LIMIT)
    drawn = fig.layout.annotations if screen is figures.PAGE else fig.layout.meta["presenter_annotations"]
    texts = [note.text if screen is figures.PAGE else note["text"] for note in drawn]
    assert texts[1:] == [label.text for label in labels] and texts[0] in ("keeps 97%", "1% of the spread")


def test_the_error_axis_is_reversed_with_ticks_from_zero():
    fig = figures.pareto_figure(LADDERS["twins"], core.KEEP, core.FIDELITY_LIMIT)
    bottom, top = fig.layout.yaxis.range
    assert bottom > 0.045 and top < 0  # reversed, BERT onnx-int8 (4.5%) and fp32 (0) with room for their markers
    assert fig.layout.yaxis.tickvals[0] == 0 and all(t >= 0 for t in fig.layout.yaxis.tickvals)


# What Chromium draws (tests/figure_page.py): the label texts, the plot area and the markers
# the height page.css gives the chart in presenter mode
PRESENTER_HEIGHT = int(re.search(r"#ladder-chart \{ --presenter-plot-height: (\d+)", resources.page_css())[1])
DRAWN = f"""() => {{
  const box = {BOX};
  return {{
    plot: box(document.querySelector('.nsewdrag')),
    labels: [...document.querySelectorAll('g.annotation')].map(
      (g) => [g.textContent, box(g.querySelector('.annotation-text'))]),
    markers: [...document.querySelectorAll('.scatterlayer .trace .points path')].map(box),
  }};
}}"""


def drawn(browser, tmp_path, fig, width: int, presenter: bool) -> dict:
    page = open_figure(browser, tmp_path, fig, width, presenter, PRESENTER_HEIGHT)
    found = page.evaluate(DRAWN)
    page.close()
    return found


@pytest.mark.parametrize("width", [1216, 1240])  # the page's chart at 1280 px, and a little wider
@pytest.mark.parametrize("presenter", [False, True], ids=["page", "presenter"])
@pytest.mark.parametrize("name", list(LADDERS))
def test_chromium_draws_the_labels_apart_and_inside_the_plot(browser, tmp_path, name, presenter, width):
    ladder = LADDERS[name]
    found = drawn(browser, tmp_path, figures.pareto_figure(ladder, core.KEEP, core.FIDELITY_LIMIT), width, presenter)
    plot, labels, markers = found["plot"], found["labels"], found["markers"]
    assert len(labels) == len(ladder.frontier()) + 1  # the front's and the limit line's note
    assert len(markers) == len(ladder.measured())
    if presenter:
        assert plot[3] - plot[1] < 200  # the lower plot the labels were placed for
    for marker in markers:
        assert inside(marker, plot), marker
    for i, (text, box) in enumerate(labels):
        assert inside(box, plot), (text, box, plot)
        for other, other_box in labels[i + 1 :]:
            assert apart(box, other_box), (text, other)
        if text not in ("keeps 97%", "1% of the spread"):  # the note sits on its line, past the markers
            for marker in markers:
                assert apart(box, marker), (text, box, marker)
