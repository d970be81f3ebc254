"""The myth race and the paper's ablation presets."""

import dataclasses
import json

import torch

from distilbert_demo.distill import core, recipe
from distilbert_demo.distill.recipe import ABLATIONS, DistillConfig
from distilbert_demo.distill.tab import apply_preset
from distilbert_demo.loading import LoadedModel

from ..test_cli import run_cli
from .test_recipe import tiny_teacher


def teacher_model(tiny_models) -> LoadedModel:
    from transformers import AutoTokenizer

    folder = tiny_models["fill-mask-bert"]
    return LoadedModel("fill-mask", "bert", folder, "local", tiny_teacher(), AutoTokenizer.from_pretrained(folder))


def test_the_race_runs_both_students_on_the_same_batches(tiny_models, monkeypatch):
    first_batches = {}
    real_step = recipe.Distiller._step

    def recording_step(self, batch):
        first_batches.setdefault(self.config.init, batch["input_ids"].clone())
        return real_step(self, batch)

    monkeypatch.setattr(recipe.Distiller, "_step", recording_step)
    config = DistillConfig(steps=3, batch_size=4, seq_len=32, eval_every=3)
    lanes = {init: lane for init, _, lane in core.race(teacher_model(tiny_models), config)}
    assert list(lanes) == ["teacher", "random"]
    assert torch.equal(first_batches["teacher"], first_batches["random"])  # same seed, same batches
    before = {init: lane.result.agreement_before.top1 for init, lane in lanes.items()}
    # step 0: the student made of the teacher's layers already agrees with it; the random one does not
    assert before["teacher"] > before["random"]
    summary = core.race_summary({init: lane.result for init, lane in lanes.items()})
    assert summary.startswith("teacher-initialised student: ") and "; random: " in summary


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
