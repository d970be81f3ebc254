"""The Compare tab's prediction charts: one panel per [MASK], side by side, each with its own bars."""

import pytest
import torch

from distilbert_demo.compare import figures
from distilbert_demo.predict import Candidate, TaskOutput


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
