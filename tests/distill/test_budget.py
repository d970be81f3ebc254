"""A distillation given a time budget: it times its first steps, plans how many fit, and ends in time."""

import json
import math
import time

import torch
from transformers import get_linear_schedule_with_warmup

from distilbert_demo.distill import corpus
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
    run = distiller(DistillConfig(seconds=10, batch_size=4, seq_len=32, eval_every=10))
    started = time.perf_counter()
    reports = list(run.run())
    wall = time.perf_counter() - started
    plan, done = run.plan, len(run.result.history)
    print(f"budget 10 s: {wall:.2f} s, {done} steps done, {plan.steps} planned, {plan.text()}")
    assert 8 <= wall <= 11
    assert plan.measured and done in (plan.steps, plan.steps - 1)
    # the last report is the last step made (a re-plan after it may have trimmed the plan to it)
    assert reports[-1].step == done and run.result.evaluations[-1]["step"] == done
    assert "steps of" in plan.text() and "within 10 s" in plan.text()


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
