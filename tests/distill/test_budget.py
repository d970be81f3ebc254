"""A distillation given a time budget: it times its first steps, plans how many fit, and ends in time."""

import json
import math
import time

import gradio as gr
import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from distilbert_demo.distill import corpus, recipe
from distilbert_demo.distill import tab as ui_distill
from distilbert_demo.distill.recipe import DistillConfig, Distiller

from ..test_cli import run_cli
from .test_recipe import tiny_teacher


def distiller(config: DistillConfig) -> Distiller:
    from transformers import BertTokenizerFast

    from ..conftest import tiny_vocab

    tokenizer = BertTokenizerFast(vocab=dict(tiny_vocab()), do_lower_case=True, model_max_length=512)
    train, heldout = corpus.split(corpus.toy_corpus())
    return Distiller(tiny_teacher(), tokenizer, train, heldout, config)


def test_a_ten_second_budget_ends_in_time_with_the_steps_it_planned():
    started = time.perf_counter()  # the budget counts from the run's construction (the click, on the page)
    run = distiller(DistillConfig(seconds=10, batch_size=4, seq_len=32, eval_every=10))
    reports = list(run.run())
    wall = time.perf_counter() - started
    plan, done = run.plan, len(run.result.history)
    print(f"budget 10 s: {wall:.2f} s, {done} steps done, {plan.steps} planned, {plan.text()}")
    assert 8 <= wall <= 11
    assert plan.measured and done in (plan.steps, plan.steps - 1)
    # the last report is the last step made (a re-plan after it may have trimmed the plan to it)
    assert reports[-1].step == done and run.result.evaluations[-1]["step"] == done
    assert "steps of" in plan.text() and "within 10 s from the click" in plan.text()


def test_a_step_count_keeps_the_usual_schedule():
    """Without a budget the learning rate follows transformers' linear warm-up and decay exactly."""
    config = DistillConfig(steps=20, batch_size=4, seq_len=32, eval_every=5)
    run = distiller(config)
    ours = [run.scheduler.get_last_lr()[0]] + [run.scheduler.get_last_lr()[0] for _ in run.run()]
    reference_optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    reference = get_linear_schedule_with_warmup(reference_optimizer, math.ceil(0.05 * 20), 20)
    expected = [reference.get_last_lr()[0]]
    for _ in range(20):
        reference_optimizer.step()
        reference.step()
        expected.append(reference.get_last_lr()[0])
    assert ours == expected and len(run.result.history) == 20


def test_the_cli_takes_a_budget(tiny_models, tmp_path):
    proc = run_cli(
        "distill",
        "--teacher",
        tiny_models["fill-mask-bert"],
        "--seconds",
        "3",
        "--out",
        str(tmp_path / "student"),
        "--json",
        "--batch-size",
        "2",
        "--seq-len",
        "16",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["plan"]["budget_s"] == 3 and summary["plan"]["step_s"] > 0
    assert len(summary["history"]) in (summary["plan"]["steps"], summary["plan"]["steps"] - 1)


class StepClock:
    """When every optimiser step of the test's runs began: a step of the run, as its budget sees it, is
    from one step's start to the next's (the page's redraw and any evaluation included)."""

    def __init__(self, monkeypatch):
        self.starts: list[float] = []
        real_step = recipe.Distiller._step

        def timed_step(distiller, batch):
            self.starts.append(time.perf_counter())
            try:
                return real_step(distiller, batch)
            finally:
                self.last_end = time.perf_counter()

        monkeypatch.setattr(recipe.Distiller, "_step", timed_step)

    def steps(self, lanes: int = 1) -> int:
        return len(self.starts) // lanes

    def longest(self, lanes: int = 1) -> float:
        """The longest step (a race: one step of each student, the first lane's starts)."""
        starts = self.starts[::lanes]
        return max(b - a for a, b in zip(starts, [*starts[1:], self.last_end]))


# A tiny model's step (~0.1 s) is shorter than what a shared 2-core machine's scheduling and garbage
# collection add to a run's last seconds: "one step" is at least this much here (a bert-base step, 1-2 s,
# is well above it).
NOISE_S = 0.5


@pytest.fixture
def slow_setup(monkeypatch):
    """Building a run takes 1.5 s more (the teacher's held-out answers), as a busy machine's would."""
    real_init = recipe.HeldOut.__init__

    def slow_init(self, *args, **kwargs):
        time.sleep(1.5)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(recipe.HeldOut, "__init__", slow_init)


def test_a_run_from_the_click_to_its_verdict_stays_within_the_budget_and_one_step(tiny_store, monkeypatch, slow_setup):
    """The page's run: building the student, the evaluations, the training and the final measurement
    next to the teacher, all inside the budget (plus at most the longest step)."""
    clock, budget = StepClock(monkeypatch), 8
    start, *_ = ui_distill.distill_handlers(tiny_store)
    settings = {"pasted": "", "upload": None, "layers_text": "", "batch_size": 4, "seq_len": 32, "bf16": False}
    updates, clicked = [], time.perf_counter()
    for update in start(**settings, seconds=budget, request=None, progress=gr.Progress()):
        updates.append(update)
        wall = time.perf_counter() - clicked  # at the last update: the verdict on the page
    print(f"budget {budget} s: verdict after {wall:.2f} s, {clock.steps()} steps, longest {clock.longest():.3f} s")
    assert updates[-1][0].startswith("**Done:**")
    assert budget / 2 <= wall <= budget + max(clock.longest(), NOISE_S)


def test_a_race_from_the_click_to_its_verdict_stays_within_the_budget_and_one_step(tiny_store, monkeypatch, slow_setup):
    clock, budget = StepClock(monkeypatch), 8
    race = ui_distill.race_handler(tiny_store)
    settings = {"pasted": "", "upload": None, "layers_text": "", "batch_size": 4, "seq_len": 32, "bf16": False}
    updates, clicked = [], time.perf_counter()
    for update in race(**settings, seconds=budget, request=None, progress=gr.Progress()):
        updates.append(update)
        wall = time.perf_counter() - clicked  # at the last update: the verdict on the page
    longest = clock.longest(lanes=2)
    print(f"race, budget {budget} s: verdict after {wall:.2f} s, {clock.steps(2)} steps each, longest {longest:.3f} s")
    assert updates[-1][0].startswith("**Race finished:** After ")
    assert len(clock.starts) % 2 == 0  # both students made the same number of steps
    assert budget / 2 <= wall <= budget + max(longest, NOISE_S)
