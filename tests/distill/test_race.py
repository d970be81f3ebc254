"""The myth race and the paper's ablation presets."""

import dataclasses
import json

import torch

from distilbert_demo.distill import core, recipe
from distilbert_demo.distill.recipe import ABLATIONS, DistillConfig, DistillResult
from distilbert_demo.distill.tab import apply_preset
from distilbert_demo.loading import LoadedModel

from ..test_cli import run_cli
from .test_recipe import tiny_teacher


def teacher_model(tiny_models) -> LoadedModel:
    from transformers import AutoTokenizer

    folder = tiny_models["fill-mask-bert"]
    return LoadedModel("fill-mask", "bert", folder, "local", tiny_teacher(), AutoTokenizer.from_pretrained(folder))


def test_the_race_steps_the_students_in_turns_on_identical_batches_and_ends_level(tiny_models, monkeypatch):
    calls = []  # (init, input_ids, labels) of every optimiser step, in the order they were made
    real_step = recipe.Distiller._step

    def recording_step(self, batch):
        calls.append((self.config.init, batch["input_ids"].clone(), batch["labels"].clone()))
        return real_step(self, batch)

    monkeypatch.setattr(recipe.Distiller, "_step", recording_step)
    config = DistillConfig(steps=4, batch_size=4, seq_len=32, eval_every=2)
    reports = []
    for report, contest in core.race(teacher_model(tiny_models), config):
        # after each report both students have made the same number of steps (the curves grow together)
        assert [len(r.history) for r in contest.results.values()] == [report.step, report.step]
        reports.append(report)
    assert [init for init, _, _ in calls] == ["teacher", "random"] * 4  # one step of each, in turn
    for (_, ids_a, labels_a), (_, ids_b, labels_b) in zip(calls[::2], calls[1::2]):
        assert torch.equal(ids_a, ids_b) and torch.equal(labels_a, labels_b)  # the same batch, the same masking
    assert not torch.equal(calls[0][1], calls[2][1])  # and a new batch for the next pair of steps
    results = contest.results
    assert [r.step for r in reports] == [1, 2, 3, 4] and {r.steps for r in reports} == {4}
    assert [[e["step"] for e in r.evaluations] for r in results.values()] == [[0, 2, 4], [0, 2, 4]]
    # step 0: the student made of the teacher's layers already agrees with it; the random one does not
    assert results["teacher"].agreement_before.top1 > results["random"].agreement_before.top1
    assert core.race_summary(results).startswith("After 4 steps each")


def a_result(evaluations: list[tuple[int, float, float]]) -> DistillResult:
    """A finished lane's result with evaluations (step, top1, kl), on 48 positions."""
    return DistillResult(
        student=None,
        layers=[0, 2],
        evaluations=[{"step": s, "top1": t, "kl": k, "positions": 48} for s, t, k in evaluations],
    )


def test_the_verdict_compares_the_students_at_equal_steps():
    # the teacher-initialised lane has an evaluation at step 12 the other lacks: the verdict is at step 10
    results = {
        "teacher": a_result([(0, 0.5, 1.0), (10, 0.25, 0.2), (12, 0.75, 0.1)]),
        "random": a_result([(0, 0.0, 3.0), (10, 0.125, 0.4)]),
    }
    line = core.race_summary(results)
    assert line.startswith("After 10 steps each") and "25.0% (teacher-initialised) vs 12.5% (random init)" in line
    assert "75.0%" not in line and "KL" not in line  # agreement tells them apart: no KL needed


def test_a_tie_in_agreement_is_told_apart_by_the_kl_and_a_twin_says_so_once():
    results = {
        "teacher": a_result([(0, 0.0, 1.0), (7, 0.0, 0.17)]),
        "random": a_result([(0, 0.0, 3.0), (7, 0.0, 0.32)]),
    }
    line = core.race_summary(results, twin=True)
    assert "ties at 0.0%" in line and "0.17 (teacher-initialised) vs 0.32 nats (random init)" in line
    assert "teacher-initialised is closer" in line
    assert line.count("untrained twin") == 1
    results["random"].evaluations[-1]["kl"] = 0.05  # the other way round
    assert "random init is closer" in core.race_summary(results) and "twin" not in core.race_summary(results)


def test_random_initialisation_keeps_the_shape_and_drops_the_weights(tiny_models):
    teacher = teacher_model(tiny_models)
    students = {
        init: core.make_distiller(teacher, DistillConfig(steps=0, batch_size=2, seq_len=16, init=init)).student_model
        for init in ("teacher", "random")
    }
    shapes = {init: {k: v.shape for k, v in s.state_dict().items()} for init, s in students.items()}
    assert shapes["teacher"] == shapes["random"]
    word = "distilbert.embeddings.word_embeddings.weight"
    assert torch.equal(students["teacher"].state_dict()[word], teacher.model.state_dict()["bert." + word[11:]])
    assert not torch.equal(students["random"].state_dict()[word], students["teacher"].state_dict()[word])


def test_each_ablation_preset_changes_exactly_what_it_names():
    base = DistillConfig()
    for preset, (changes, _) in ABLATIONS.items():
        ablated = base.ablation(preset)
        changed = {f.name for f in dataclasses.fields(base) if getattr(base, f.name) != getattr(ablated, f.name)}
        assert changed == set(changes), preset
        *values, reference = apply_preset(preset)
        assert dict(zip(["alpha_ce", "alpha_mlm", "alpha_cos", "init"], values)) == {
            "alpha_ce": ablated.alpha_ce,
            "alpha_mlm": ablated.alpha_mlm,
            "alpha_cos": ablated.alpha_cos,
            "init": ablated.init,
        }
        assert ("Table 4" in reference) == (preset != "full recipe")


def test_the_cli_races(tiny_models, tmp_path):
    flags = ["--race", "--steps", "2", "--eval-every", "1", "--batch-size", "2", "--seq-len", "16", "--json"]
    proc = run_cli("distill", "--teacher", tiny_models["fill-mask-bert"], *flags, "--out", str(tmp_path / "student"))
    assert proc.returncode == 0, proc.stderr
    race = json.loads(proc.stdout)["race"]
    assert set(race) == {"teacher_init", "random_init"}
    for lane in race.values():
        assert len(lane["history"]) == 2 and {"top1", "kl"} <= set(lane["agreement_after"])
        assert {"top1", "kl"} <= set(lane["agreement_before"])
