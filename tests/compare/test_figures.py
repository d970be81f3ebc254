"""The Compare tab's prediction charts: one panel per [MASK], side by side, each with its own bars; answer
spans named short enough to leave the bars and the title room."""

import re

import pytest
import torch

from distilbert_demo import resources
from distilbert_demo.compare import figures
from distilbert_demo.predict import Candidate, TaskOutput
from distilbert_demo.qa import Answer

from ..figure_page import BOX, open_figure


def fill_mask_output(masks: int) -> TaskOutput:
    predictions = [[Candidate(f"word{m}{k}", 1000 * m + k, 0.5 / (k + 1)) for k in range(5)] for m in range(masks)]
    return TaskOutput(predictions=predictions, distributions=torch.empty(masks, 0), support=[])


def panel_boxes(fig):
    """(x domain, y domain) of each bar trace's axes, in trace order."""
    boxes = []
    for bar in fig.data:
        x = fig.layout["xaxis" + bar.xaxis[1:]].domain
        y = fig.layout["yaxis" + bar.yaxis[1:]].domain
        boxes.append((tuple(x), tuple(y)))
    return boxes


@pytest.mark.parametrize(("masks", "rows"), [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)])
def test_mask_panels_sit_side_by_side_three_to_a_row(masks, rows):
    output = fill_mask_output(masks)
    fig = figures.predictions_figure(output, "bert")
    boxes = panel_boxes(fig)
    assert len(boxes) == masks
    assert len({y for _, y in boxes}) == rows  # a row of panels shares its height
    assert fig.layout.height == 90 + 190 * rows  # a projector's fixed height is not split between more rows
    for i, (x1, y1) in enumerate(boxes):  # no two panels overlap
        for x2, y2 in boxes[i + 1 :]:
            apart_x = x1[1] <= x2[0] or x2[1] <= x1[0]
            apart_y = y1[1] <= y2[0] or y2[1] <= y1[0]
            assert apart_x or apart_y
    for bar, mask in zip(fig.data, output.predictions, strict=True):  # each panel carries its own mask's bars
        assert list(bar.y) == [c.token for c in reversed(mask)]
        assert list(bar.x) == [c.score for c in reversed(mask)]
    titles = [a.text for a in fig.layout.annotations]
    expected = [f"BERT: [MASK] {i}" for i in range(1, masks + 1)] if masks > 1 else ["BERT: top candidates"]
    assert titles == expected


# Question answering: long spans in half a page, on a projector
CONTEXT = (
    "The storm moved across the region on Tuesday night. It hit the coastal town of Redhaven hardest, where the "
    "river rose two metres and closed the main bridge until Thursday."
)
SPANS = [
    "where the river rose two metres and closed the main bridge",
    "the coastal town of Redhaven hardest, where the river rose",
    "Redhaven",
    "moved across the region on Tuesday night. It hit",
    "closed",
]


def qa_output() -> TaskOutput:
    answers = [Answer(s, CONTEXT.index(s), CONTEXT.index(s) + len(s), 0.02 / (k + 1)) for k, s in enumerate(SPANS)]
    return TaskOutput(predictions=answers, distributions=torch.empty(1, 0), support=[], task="qa")


def test_qa_bars_name_long_spans_short_and_whole_in_the_hover_under_a_title_that_grows_left():
    output = qa_output()
    fig = figures.predictions_figure(output, "distilbert", "Distilled student")
    (bars,) = fig.data
    answers = output.predictions[::-1]  # best at the top
    for label, hover, answer in zip(bars.y, bars.customdata, answers, strict=True):
        text, offsets = label.split(" · ")
        assert offsets == f"chars {answer.start}-{answer.end}"
        assert len(text) <= figures.QA_LABEL and (text == answer.text or text.endswith("…"))
        assert hover == f"{answer.text} (chars {answer.start}-{answer.end})"  # the whole span
    assert "%{customdata}" in bars.hovertemplate
    (title,) = fig.layout.annotations
    assert title.text == "Distilled student: answers (p_start x p_end)"
    # anchored at the right end of the bars, it grows left over the labels' column, not past the edge
    assert (title.x, title.xanchor) == (1.0, "right")


# the figure's box and its title's, as Chromium draws them (tests/figure_page.py)
DRAWN = f"""() => {{
  const box = {BOX};
  return [box(document.querySelector('.main-svg')), box(document.querySelector('g.annotation'))];
}}"""


@pytest.mark.parametrize("presenter", [False, True], ids=["page", "presenter"])
def test_chromium_draws_the_qa_title_inside_its_figure(browser, tmp_path, presenter):
    # half of the 1216 px the page gives a row at 1280 px; page.css's height for the prediction charts
    height = int(re.search(r"#distilbert-predictions \{ --presenter-plot-height: (\d+)", resources.page_css())[1])
    for side, title in (("bert", ""), ("distilbert", "Distilled student")):
        page = open_figure(
            browser, tmp_path, figures.predictions_figure(qa_output(), side, title), 605, presenter, height
        )
        figure, title_box = page.evaluate(DRAWN)
        page.close()
        assert figure[0] <= title_box[0] and title_box[2] <= figure[2], (side, title_box, figure)
