"""The Distill tab's handlers, called directly, and the student put into Compare/Attention."""

import functools
import itertools
import re
import threading
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go
import pytest

from distilbert_demo import students
from distilbert_demo.attention.tab import attention_handlers
from distilbert_demo.compare.tab import compare_handler
from distilbert_demo.distill import tab as ui_distill
from distilbert_demo.distill.tab import CONFIG_FIELDS, input_check
from distilbert_demo.kept import KEPT
from distilbert_demo.storage import STORAGE
from distilbert_demo.students import STUDENT_NAME
from distilbert_demo.tabs import validator

SETTINGS = {
    "pasted": "",
    "upload": None,
    "layers_text": "",
    "steps": 12,
    "batch_size": 4,
    "seq_len": 32,
    "temperature": 2.0,
    "alpha_ce": 5.0,
    "alpha_mlm": 2.0,
    "alpha_cos": 1.0,
    "lr": 5e-4,
    "bf16": False,
}


@pytest.fixture(scope="module")
def handlers(tiny_store):
    return ui_distill.distill_handlers(tiny_store)


def run_start(handlers, **changes):
    start = handlers[0]
    return list(start(**{**SETTINGS, **changes}, request=None, progress=gr.Progress()))


@pytest.fixture
def every_step(monkeypatch):
    """Redraw at every step (the page otherwise redraws its status every second, its charts every two)."""
    monkeypatch.setattr(ui_distill, "STATUS_EVERY_S", 0.0)
    monkeypatch.setattr(ui_distill, "CHARTS_EVERY_S", 0.0)


def quarter_seconds():
    """A clock that moves a quarter of a second each time it is read (exact in binary)."""
    ticks = itertools.count()
    return lambda: next(ticks) / 4


def test_redraws_are_throttled_on_a_fast_machine(handlers):
    start, *updates = run_start(handlers, steps=40)  # tiny models: many steps a second
    assert updates[-1][0].startswith("**Done:**") and len(updates) < 40 + 1
    assert "Step 1 / 40" in updates[0][0]  # the first step is always shown


def test_a_run_says_at_once_what_it_does_and_clears_the_previous_result(handlers):
    start, *_ = run_start(handlers, steps=2)
    status, losses, agreement, summary, archive, finished, use_button = start
    assert status == "**Building the student from the teacher's layers…**"  # what is happening, at once
    assert (losses, agreement, summary, archive) == (None, None, "", None)
    assert use_button["visible"] is False and finished == gr.skip()  # the last student's handle stays


def test_the_charts_are_redrawn_less_often_than_the_status(handlers, monkeypatch):
    """Four steps a second (the clock is read once a step), an evaluation every ten steps: the status comes
    every second, the charts every two, an evaluation waits for the next chart, and nothing is lost at the end."""
    assert (ui_distill.STATUS_EVERY_S, ui_distill.CHARTS_EVERY_S) == (1.0, 2.0)
    monkeypatch.setattr(ui_distill, "Pace", functools.partial(ui_distill.Pace, clock=quarter_seconds()))
    _, *live, done = run_start(handlers, steps=40)  # eval_every: 10 (its default)
    steps = [int(re.search(r"Step (\d+) / 40", status).group(1)) for status, *_ in live]
    assert steps == [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 40]
    charted = [step for step, (_, losses, *_) in zip(steps, live) if isinstance(losses, go.Figure)]
    assert charted == [1, 9, 17, 25, 33, 40]
    agreement = [step for step, (_, _, chart, *_) in zip(steps, live) if isinstance(chart, go.Figure)]
    assert agreement == [1, 17, 25, 33, 40]  # 9: no evaluation since step 0's
    assert list(done[2].data[0].x) == [0, 10, 20, 30, 40] and len(done[1].data[0].x) == 40


def test_a_short_run_streams_curves_then_a_student(handlers, tiny_store, every_step):
    _, *updates = run_start(handlers)
    assert len(updates) == 12 + 1  # after the first line: one per step, then the finished run
    status, losses, agreement, summary, archive, finished, use_button = updates[-1]
    # the verdict line repeats the summary's figures: steps, agreement before and after, speed-up
    assert status.startswith("**Done:** 12 steps in ") and "untrained" not in status  # tiny local teacher
    assert (
        re.search(r"Held-out top-1 agreement \| — \| ([\d.]+%) before → ([\d.]+%) after", summary).groups()
        == re.search(r"agreement with the teacher ([\d.]+%) → ([\d.]+%)", status).groups()
    )
    speedup = re.search(r"\(([\d.]+)x\) \|", summary).group(1)
    assert f"student {speedup}x the teacher's speed" in status
    assert len(losses.data) == 4 and len(losses.data[0].x) == 12  # total + three terms, every step
    assert list(agreement.data[0].x) == [0, 10, 12]  # before training, every 10 steps, at the end
    assert "Run finished: 12 steps" in summary and "Held-out top-1 agreement" in summary
    assert archive.endswith(".zip")
    folder = STORAGE.student(finished)  # the page holds a handle; the server keeps the student's folder
    student = students.load(folder, tiny_store.pair("fill-mask").bert)
    assert student.name == STUDENT_NAME and student.model.config.n_layers == 2
    assert Path(archive).parent == folder and students.model_folder(folder).is_dir()
    assert use_button["visible"] is True
    # mid-run updates carry the status and the loss curve growing step by step
    assert "Step 3 / 12" in updates[2][0] and len(updates[2][1].data[0].x) == 3


def test_the_student_becomes_the_distilbert_side(handlers, tiny_store):
    *_, finished, _ = run_start(handlers, steps=2)[-1]
    use_student = handlers[2]
    state, message = use_student(finished)
    assert state is finished and "now use your distilled student" in message
    compare_run = compare_handler(tiny_store)
    _, verdict, _, _, distil_fig, _, latency_fig, *_, raw = compare_run(
        "fill-mask", "The [MASK] sat on the mat.", 3, 2, "", state
    )
    assert raw["models"]["distilbert"]["name"] == STUDENT_NAME
    # the page says whose answers these are: in the verdict and on the charts
    assert verdict.startswith("### Distilled student: ") and raw["verdict"].startswith("Distilled student: ")
    assert distil_fig.layout.annotations[0].text == "Distilled student: top candidates"
    assert list(latency_fig.data[0].x) == ["BERT", "Distilled student"]
    assert raw["models"]["bert"]["name"] == tiny_store.pair("fill-mask").bert.name
    *_, raw = compare_run("sentiment", "Lovely.", 3, 2, "", state)  # other tasks keep their pair
    assert raw["models"]["distilbert"]["name"] != STUDENT_NAME
    analyse = attention_handlers(tiny_store)[0]
    key, *_ = analyse("fill-mask", "The cat sat.", "", state)
    session = KEPT.get("local", key, again="Show attention")
    assert session.distilbert.layers == 2 and session.layer_map == [0, 2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"temperature": 0}, "temperature must be greater than 0"),
        ({"temperature": -1}, "temperature must be greater than 0"),
        ({"layers_text": "0, 9"}, "past the teacher's last layer"),
        ({"layers_text": ","}, "give at least one layer"),
        ({"alpha_ce": 0, "alpha_mlm": 0, "alpha_cos": 0}, "at least one loss weight"),
        ({"alpha_mlm": -1}, "cannot be negative"),
        ({"steps": 5000}, "At most 1000 steps"),
        ({"pasted": "only one line"}, "The corpus is empty"),
    ],
)
def test_bad_settings_get_a_message(handlers, tiny_store, changes, message):
    """Before any model work the validator shows the message next to the setting at fault; the handler
    raises the same message (an API caller gets it as an error)."""
    values = {**SETTINGS, **changes}
    names = ["pasted", "upload", "layers_text", *CONFIG_FIELDS]
    shown = dict(zip(names, validator(names, input_check(tiny_store), blame="steps")(**values)))
    (at_fault,) = [name for name, result in shown.items() if not result["is_valid"]]
    assert message in shown[at_fault]["message"]
    assert at_fault == next(iter(changes)) or at_fault == "alpha_ce"  # the control that was changed
    with pytest.raises(gr.Error, match=re.escape(message)):
        run_start(handlers, **changes)


def test_bad_upload_gets_a_message(handlers, tmp_path):
    bad = tmp_path / "corpus.csv"
    bad.write_text("a,b\n")
    with pytest.raises(gr.Error, match="plain .txt file"):
        run_start(handlers, upload=str(bad))


def test_stop_ends_the_run_within_a_step(handlers, every_step):
    start, stop, *_ = handlers

    class Request:
        session_hash = "visitor-1"

    gen = start(**{**SETTINGS, "steps": 500}, request=Request(), progress=gr.Progress())
    assert next(gen)[0].startswith("**Building the student")
    for _ in range(3):  # steps 1, 2, 3
        next(gen)
    assert stop(Request()) == "Stopping after the current step…"
    rest = list(gen)
    assert len(rest) == 1 and rest[0][0].startswith("Stopped after 3 steps")
    assert stop(Request()) == "No run of yours is in progress."


def test_stop_without_a_run():
    handlers = ui_distill.distill_handlers(store=None)
    assert handlers[1](None) == "No run of yours is in progress."
    assert isinstance(threading.Event(), threading.Event)


def test_the_race_from_the_page(tiny_store, every_step):
    from distilbert_demo.distill.tab import race_handler

    settings = {**SETTINGS, "steps": 3}
    updates = list(race_handler(tiny_store)(**settings, request=None, progress=gr.Progress()))
    status, losses, chart, summary = updates[-1]
    assert status.startswith("**Race finished:** After 3 steps each, same batches: top-1 held-out agreement ")
    assert summary == "", "the verdict is said once, in the status line above the charts"
    assert "(teacher-initialised)" in status and "(random init)" in status
    lanes = {trace.name.split(":")[0] for trace in chart.data}
    assert lanes == {"initialised from the teacher's layers", "random init"}
    # the loss chart has both lanes, each with every step it made
    assert {trace.name: len(trace.x) for trace in losses.data} == {
        "initialised from the teacher's layers": 3,
        "random init": 3,
    }
    # at once: what is happening, and the previous race's verdict and charts cleared
    assert updates[0] == (
        "**Building both students: one from the teacher's layers, one from random weights…**",
        None,
        None,
        "",
    )
    assert len(updates) == 1 + 3 + 1  # the first line, one update per step of both students, the result
    assert all(u[0].startswith("**Race: step ") for u in updates[1:-1])  # one step count and one ETA for both
