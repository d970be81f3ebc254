"""Distillation: the saved student, the loss against a hand-written reference, learning, stopping,
refusing bad settings, and the same run under `accelerate launch` on two processes."""

import json
import math
import os
import re
import subprocess
import sys
import threading
from itertools import islice

import pytest
import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertTokenizerFast,
    DataCollatorForLanguageModeling,
    DistilBertForMaskedLM,
)

from distilbert_demo import layer_map, twins
from distilbert_demo.distill import core as distill_session
from distilbert_demo.distill import corpus, student
from distilbert_demo.distill import recipe as distill
from distilbert_demo.distill.recipe import DistillConfig, Distiller
from distilbert_demo.inputs import InputError
from distilbert_demo.loading import LoadedModel
from tests.conftest import tiny_vocab
from tests.test_cli import ROOT, run_cli

SENTENCES = [
    "the famous director poured coffee for the nurse .",
    "the doctor worked in the hospital at night",
    "a dog and a cat in the house",
]


def tiny_tokenizer() -> BertTokenizerFast:
    tokenizer = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=512)
    assert len(tokenizer) == len(tiny_vocab())
    return tokenizer


def tiny_teacher(seed: int = 0, initializer_range: float = 0.02) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        initializer_range=initializer_range,
    )
    return BertForMaskedLM(config).eval()


def small_config(**changes) -> DistillConfig:
    return DistillConfig(**{"steps": 4, "batch_size": 4, "seq_len": 32, "eval_every": 2, **changes})


# ---------------------------------------------------------------- 1. zero steps: the initialised student, saved


def test_zero_steps_saves_the_student_as_initialised(tiny_models, tmp_path):
    folder = tiny_models["fill-mask-bert"]
    out = tmp_path / "student"
    proc = run_cli("distill", "--teacher", folder, "--steps", "0", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)  # exactly one JSON object
    assert set(data) >= {
        "teacher",
        "student",
        "student_layers",
        "history",
        "agreement_before",
        "agreement_after",
        "out",
    }
    assert set(data["student"]) >= {"params", "layers"}
    teacher = BertForMaskedLM.from_pretrained(folder).eval()
    layers = data["student_layers"]
    assert layers == layer_map.default_student_layers(teacher.config.num_hidden_layers) == [0, 2]
    assert data["student"]["layers"] == len(layers)
    assert data["history"] == []
    assert data["agreement_before"] == data["agreement_after"]  # nothing trained in between
    assert data["agreement_before"]["positions"] > 0
    assert data["out"] == str(out)

    saved = AutoModelForMaskedLM.from_pretrained(out)
    assert isinstance(saved, DistilBertForMaskedLM) and saved.config.n_layers == len(layers)
    assert data["student"]["params"] == sum(p.numel() for p in saved.parameters())
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.get_vocab() == AutoTokenizer.from_pretrained(folder).get_vocab()

    sd_student, sd_teacher = saved.state_dict(), teacher.state_dict()
    pairs = student.copied_pairs(layers)
    for student_key, teacher_key in pairs:
        assert torch.equal(sd_student[student_key], sd_teacher[teacher_key]), (student_key, teacher_key)
    # what those pairs cover: every module of each mapped layer, the embeddings and the head
    copied = dict(pairs)
    modules = ["q_lin", "k_lin", "v_lin", "out_lin"]
    for i, source in enumerate(layers):
        for name, teacher_name in zip(modules, ["self.query", "self.key", "self.value", "output.dense"]):
            for kind in ("weight", "bias"):
                key = f"distilbert.transformer.layer.{i}.attention.{name}.{kind}"
                assert copied[key] == f"bert.encoder.layer.{source}.attention.{teacher_name}.{kind}"
        for name, teacher_name in [
            ("ffn.lin1", "intermediate.dense"),
            ("ffn.lin2", "output.dense"),
            ("sa_layer_norm", "attention.output.LayerNorm"),
            ("output_layer_norm", "output.LayerNorm"),
        ]:
            for kind in ("weight", "bias"):
                assert copied[f"distilbert.transformer.layer.{i}.{name}.{kind}"] == (
                    f"bert.encoder.layer.{source}.{teacher_name}.{kind}"
                )
    for key in ["word_embeddings.weight", "position_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias"]:
        assert copied[f"distilbert.embeddings.{key}"] == f"bert.embeddings.{key}"
    for key, teacher_key in [
        ("vocab_transform.weight", "cls.predictions.transform.dense.weight"),
        ("vocab_layer_norm.bias", "cls.predictions.transform.LayerNorm.bias"),
        ("vocab_projector.bias", "cls.predictions.decoder.bias"),
    ]:
        assert copied[key] == teacher_key
    assert set(sd_student) == set(copied) | {"vocab_projector.weight"}
    assert torch.equal(saved.vocab_projector.weight, teacher.cls.predictions.decoder.weight)  # tied, reloaded


# ---------------------------------------------------------------- 2. the loss, against a reference by hand


def masked_batch(tokenizer) -> dict[str, torch.Tensor]:
    """Three sentences of different lengths (so two are padded), some positions masked."""
    encoded = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    input_ids, attention_mask = encoded["input_ids"].clone(), encoded["attention_mask"]
    labels = torch.full_like(input_ids, -100)
    for row, positions in enumerate([[2, 5, 7], [1, 4], [3]]):
        for pos in positions:
            labels[row, pos] = input_ids[row, pos]
            input_ids[row, pos] = tokenizer.mask_token_id
    input_ids[0, 8] = tokenizer.convert_tokens_to_ids("dog")  # a masked position with a random token
    labels[0, 8] = encoded["input_ids"][0, 8]
    assert (attention_mask == 0).any(dim=1).sum() == 2 and (labels != -100).sum() == 7
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def reference_losses(student_model, teacher, batch, config: DistillConfig, pad_in_cos: bool = False):
    """The DistilBERT loss by hand from full forward passes, no code shared with the package."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with torch.no_grad():
        t_out = teacher(**inputs, output_hidden_states=True)
        s_out = student_model(**inputs, output_hidden_states=True)
    # float64 from here on: the reference is exact, the package's float32 is compared against it
    t_logits, s_logits = t_out.logits.double(), s_out.logits.double()  # (B, T, V)
    t_hidden, s_hidden = t_out.hidden_states[-1].double(), s_out.hidden_states[-1].double()  # (B, T, H)
    masked = batch["labels"] != -100
    real = batch["attention_mask"] == 1
    rows = masked if config.ce_on_masked_only else real
    T = config.temperature
    t_rows, s_rows = t_logits[rows] / T, s_logits[rows] / T  # (N, V)
    t_logp = t_rows - torch.logsumexp(t_rows, dim=-1, keepdim=True)
    s_logp = s_rows - torch.logsumexp(s_rows, dim=-1, keepdim=True)
    kl_per_row = (t_logp.exp() * (t_logp - s_logp)).sum(dim=-1)  # (N,)
    ce = kl_per_row.mean() * T**2
    m_logits = s_logits[masked]  # (M, V)
    m_logp = m_logits - torch.logsumexp(m_logits, dim=-1, keepdim=True)
    mlm = -m_logp[torch.arange(len(m_logp)), batch["labels"][masked]].mean()
    keep = torch.ones_like(real) if pad_in_cos else real
    a, b = s_hidden[keep], t_hidden[keep]  # (N_real, H)
    cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    cos = (1 - cosine).mean()
    total = config.alpha_ce * ce + config.alpha_mlm * mlm + config.alpha_cos * cos
    return {"total": total, "ce": ce, "mlm": mlm, "cos": cos}


@pytest.fixture(scope="module")
def loss_setup():
    # Wider random weights than the default 0.02: sharper distributions, so L_ce is ~1 rather than ~0.003,
    # which float32 (the package) cannot resolve to 1e-5 of itself.
    teacher = tiny_teacher(seed=7, initializer_range=0.2)
    pupil = student.build_student(teacher).eval()  # eval: no dropout, so both sides are deterministic
    return teacher, pupil, masked_batch(tiny_tokenizer())


def assert_parts_match(parts: distill.LossParts, reference: dict) -> None:
    for name in ("total", "ce", "mlm", "cos"):
        got, want = getattr(parts, name), reference[name]
        assert torch.isfinite(want) and want > 0, name
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=0, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize(
    "config",
    [
        DistillConfig(),
        DistillConfig(ce_on_masked_only=False),
        DistillConfig(temperature=3.0, alpha_ce=0.5, alpha_mlm=1.5, alpha_cos=4.0),
        DistillConfig(temperature=3.0, alpha_ce=0.5, alpha_mlm=1.5, alpha_cos=4.0, ce_on_masked_only=False),
    ],
    ids=["defaults-masked", "defaults-all-tokens", "T3-masked", "T3-all-tokens"],
)
def test_losses_equal_a_reference_by_hand(loss_setup, config):
    teacher, pupil, batch = loss_setup
    parts = distill.compute_losses(distill.SelectiveHead(pupil), teacher, batch, config)
    reference = reference_losses(pupil, teacher, batch, config)
    assert_parts_match(parts, reference)
    total = config.alpha_ce * parts.ce + config.alpha_mlm * parts.mlm + config.alpha_cos * parts.cos
    torch.testing.assert_close(parts.total, total, rtol=1e-6, atol=0)


def test_the_defaults_are_the_reference_recipe(loss_setup):
    config = DistillConfig()
    assert (config.temperature, config.alpha_ce, config.alpha_mlm, config.alpha_cos) == (2.0, 5.0, 2.0, 1.0)
    teacher, pupil, batch = loss_setup
    parts = distill.compute_losses(distill.SelectiveHead(pupil), teacher, batch, config)
    torch.testing.assert_close(parts.total, 5 * parts.ce + 2 * parts.mlm + 1 * parts.cos, rtol=1e-6, atol=0)


def test_masked_only_and_all_token_kl_differ(loss_setup):
    """The two settings of ce_on_masked_only really select different rows."""
    teacher, pupil, batch = loss_setup
    head = distill.SelectiveHead(pupil)
    masked_only = distill.compute_losses(head, teacher, batch, DistillConfig())
    all_tokens = distill.compute_losses(head, teacher, batch, DistillConfig(ce_on_masked_only=False))
    assert not torch.isclose(masked_only.ce, all_tokens.ce, rtol=1e-3)
    torch.testing.assert_close(masked_only.mlm, all_tokens.mlm)  # L_mlm is at the masked positions either way


def test_padding_is_left_out_of_the_cosine_loss(loss_setup):
    teacher, pupil, batch = loss_setup
    config = DistillConfig(ce_on_masked_only=False)
    head = distill.SelectiveHead(pupil)
    parts = distill.compute_losses(head, teacher, batch, config)
    with_padding = reference_losses(pupil, teacher, batch, config, pad_in_cos=True)
    assert not torch.isclose(parts.cos.double(), with_padding["cos"], rtol=1e-3)  # padding rows would count
    # another token at a padded position changes the hidden states there, and nothing in the loss
    row, pad = [(r, int(torch.nonzero(m == 0)[0])) for r, m in enumerate(batch["attention_mask"]) if (m == 0).any()][0]
    changed = {k: v.clone() for k, v in batch.items()}
    changed["input_ids"][row, pad] = tiny_vocab()["coffee"]
    with torch.no_grad():
        before = pupil.distilbert(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        after = pupil.distilbert(changed["input_ids"], changed["attention_mask"]).last_hidden_state
    assert not torch.allclose(before[row, pad], after[row, pad])
    again = distill.compute_losses(head, teacher, changed, config)
    for name in ("total", "ce", "mlm", "cos"):
        torch.testing.assert_close(getattr(again, name), getattr(parts, name), rtol=1e-6, atol=1e-7)
    assert not torch.isclose(
        reference_losses(pupil, teacher, changed, config, pad_in_cos=True)["cos"], with_padding["cos"], rtol=1e-6
    )


def test_a_collated_batch_matches_the_reference_too(loss_setup):
    teacher, pupil, _ = loss_setup
    tokenizer = tiny_tokenizer()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3, seed=11)
    batch = collator([{"input_ids": tokenizer(s)["input_ids"]} for s in SENTENCES * 2])
    assert (batch["labels"] != -100).any() and (batch["attention_mask"] == 0).any()
    for config in (DistillConfig(), DistillConfig(ce_on_masked_only=False, temperature=3.0)):
        parts = distill.compute_losses(distill.SelectiveHead(pupil), teacher, batch, config)
        assert_parts_match(parts, reference_losses(pupil, teacher, batch, config))


# ---------------------------------------------------------------- 3. learning on the shipped corpus


@pytest.fixture(scope="module")
def trained_teacher():
    """A small BERT that KNOWS something: pre-trained with plain masked-LM on the toy corpus's train split.

    150 steps take it from ln(2100) = 7.65 nats to ~6.0, about the corpus's unigram entropy (6.09): it
    has learned which words are frequent, barely more. Top-1 agreement with such a teacher hangs on
    near-ties ("the" 461 times vs "." 399), so the seeds here are fixed; KL is the robust measure.
    """
    vocab = {token: i for token, i in twins.twin_vocab(30522, 2000).items() if i < 2100}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=512)
    assert len(tokenizer) == 2100  # `vocab=`: transformers 5 ignores `vocab_file=` and gives 5 tokens
    train, heldout = corpus.split(corpus.toy_corpus())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=256
    )
    teacher = BertForMaskedLM(config).train()
    stream = corpus.PackedTextStream(train, tokenizer, 64, seed=0)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=0)
    optimizer = torch.optim.AdamW(teacher.parameters(), lr=2e-3)
    losses = []
    for batch in islice(torch.utils.data.DataLoader(stream, batch_size=16, collate_fn=collator), 150):
        loss = teacher(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 1.0  # it learned
    return teacher.eval(), tokenizer, train, heldout


def test_the_student_learns_from_the_teacher(trained_teacher):
    teacher, tokenizer, train, heldout = trained_teacher
    config = DistillConfig(steps=100, batch_size=16, seq_len=64, eval_every=25)
    distiller = Distiller(teacher, tokenizer, train, heldout, config)
    reports = list(distiller.run())
    result = distiller.result
    assert len(reports) == len(result.history) == 100
    losses = [h["loss"] for h in result.history]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10
    assert [e["step"] for e in result.evaluations] == [0, 25, 50, 75, 100]
    before, after = result.agreement_before, result.agreement_after
    assert after.positions == before.positions > 50
    assert after.top1 > before.top1, (before, after)
    assert after.kl < before.kl / 3, (before, after)  # closer to the teacher, by a wide margin
    assert teacher.training is False and not result.student.training


def test_runs_are_reproducible_from_the_seed(trained_teacher):
    teacher, tokenizer, train, heldout = trained_teacher

    def run(seed):
        config = DistillConfig(steps=6, batch_size=16, seq_len=64, eval_every=3, seed=seed)
        distiller = Distiller(teacher, tokenizer, train, heldout, config)
        list(distiller.run())
        return distiller.result.history, distiller.result.evaluations

    first, again, other = run(1), run(1), run(2)
    assert first == again  # exactly equal floats
    assert first[0] != other[0] and first[1] != other[1]
    assert all(a["loss"] != b["loss"] for a, b in zip(first[0], other[0]))


# ---------------------------------------------------------------- 4. stopping, and refusing bad settings


@pytest.fixture(scope="module")
def tiny_teacher_model(tiny_models) -> LoadedModel:
    folder = tiny_models["fill-mask-bert"]
    return LoadedModel(
        task="fill-mask",
        side="bert",
        name=folder,
        source="local",
        model=BertForMaskedLM.from_pretrained(folder),
        tokenizer=AutoTokenizer.from_pretrained(folder),
    )


def test_a_run_stops_between_two_steps(tiny_teacher_model):
    train, heldout = corpus.split(corpus.toy_corpus())
    config = small_config(steps=50, eval_every=2)
    distiller = Distiller(tiny_teacher_model.model, tiny_teacher_model.tokenizer, train, heldout, config)
    stop = threading.Event()
    reports = []
    for report in distiller.run(stop):  # the loop must end by itself once stop is set
        reports.append(report)
        if len(reports) == 3:
            stop.set()
    result = distiller.result
    assert [r.step for r in reports] == [1, 2, 3]
    assert result.stopped is True
    assert len(result.history) == 3 and [h["step"] for h in result.history] == [1, 2, 3]
    assert result.agreement_before is not None and result.agreement_after is not None
    assert result.agreement_after.positions == result.agreement_before.positions > 0
    # agreement_after is the latest measurement (step 2 here, unless the run measures again when stopped)
    last = result.evaluations[-1]
    assert last["step"] in (2, 3) and [e["step"] for e in result.evaluations[:2]] == [0, 2]
    assert (result.agreement_after.top1, result.agreement_after.kl) == (last["top1"], last["kl"])
    assert not result.student.training  # handed back ready for inference
    assert distiller.optimizer is None  # Adam's moments freed


def test_a_run_that_is_not_stopped_reports_every_step(tiny_teacher_model):
    train, heldout = corpus.split(corpus.toy_corpus())
    distiller = Distiller(tiny_teacher_model.model, tiny_teacher_model.tokenizer, train, heldout, small_config(steps=5))
    reports = list(distiller.run(threading.Event()))
    assert [r.step for r in reports] == [1, 2, 3, 4, 5] and all(r.steps == 5 for r in reports)
    assert [r.agreement is not None for r in reports] == [False, True, False, True, True]  # every 2, and the last
    assert [e["step"] for e in distiller.result.evaluations] == [0, 2, 4, 5]
    assert distiller.result.stopped is False and len(distiller.result.history) == 5
    for entry in distiller.result.history:
        assert set(entry) == {"step", "loss", "loss_ce", "loss_mlm", "loss_cos"}
        assert all(math.isfinite(v) for v in entry.values())


@pytest.mark.parametrize(
    "changes, layers_text, message",
    [
        ({}, ",", "give at least one layer"),
        ({}, " , ,", "give at least one layer"),
        ({}, "0, 9", "layer 9 is past the teacher's last layer (3)"),
        ({}, "0, 0", "layer 0 is given twice"),
        ({"temperature": 0.0}, None, "temperature must be greater than 0."),
        ({"temperature": -1.0}, None, "temperature must be greater than 0."),
        ({"steps": distill.MAX_PAGE_STEPS + 1}, None, f"At most {distill.MAX_PAGE_STEPS} steps on this server."),
        ({"alpha_ce": -1.0}, None, "loss weights cannot be negative."),
        ({"alpha_mlm": -0.5}, None, "loss weights cannot be negative."),
        ({"alpha_cos": -2.0}, None, "loss weights cannot be negative."),
        (
            {"alpha_ce": 0.0, "alpha_mlm": 0.0, "alpha_cos": 0.0},
            None,
            "at least one loss weight must be greater than 0.",
        ),
        ({"steps": -1}, None, "steps must be 0 or more."),
        ({"batch_size": 0}, None, "batch size must be at least 1."),
        ({"seq_len": 4}, None, "sequence length must be between 8 and 512 tokens."),
        ({"lr": 0.0}, None, "learning rate must be greater than 0."),
        ({"eval_every": 0}, None, "evaluation interval must be at least 1 step."),
    ],
)
def test_make_distiller_refuses_bad_settings(tiny_teacher_model, changes, layers_text, message):
    with pytest.raises(InputError) as err:
        distill_session.make_distiller(tiny_teacher_model, small_config(**changes), layers_text)
    assert str(err.value) == message or str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    if layers_text is None and "steps" not in changes:  # the Distiller refuses a bad config itself (any steps)
        with pytest.raises(InputError, match="^" + re.escape(message)):
            train, heldout = corpus.split(corpus.toy_corpus())
            Distiller(tiny_teacher_model.model, tiny_teacher_model.tokenizer, train, heldout, small_config(**changes))


def test_make_distiller_refuses_an_empty_corpus(tiny_teacher_model, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    message = "The corpus is empty: give at least two non-empty lines of text."
    with pytest.raises(InputError, match=message):
        distill_session.make_distiller(tiny_teacher_model, small_config(), upload_path=str(empty))
    with pytest.raises(InputError, match=message):
        distill_session.make_distiller(tiny_teacher_model, small_config(), pasted="only one line\n  \n")
    with pytest.raises(InputError, match="no held-out sentences"):
        Distiller(tiny_teacher_model.model, tiny_teacher_model.tokenizer, ["a line"], [], small_config())


def test_blank_pasted_text_falls_back_to_the_toy_corpus(tiny_teacher_model):
    distiller = distill_session.make_distiller(tiny_teacher_model, small_config(steps=1), "0, 3", pasted=" \n\t\n")
    train, heldout = corpus.split(corpus.toy_corpus())
    assert distiller.loader.dataset.source == train
    assert distiller.layers == [0, 3] and distiller.student_model.config.n_layers == 2
    assert len(list(distiller.run())) == 1


def test_pasted_text_is_the_training_corpus(tiny_teacher_model):
    pasted = "\n".join(SENTENCES * 3)  # 9 lines: the 8th is held out, the other 8 train
    distiller = distill_session.make_distiller(tiny_teacher_model, small_config(steps=1), pasted=pasted)
    assert distiller.loader.dataset.source == corpus.split(SENTENCES * 3)[0]


CLI_REFUSALS = {
    "temperature": (["--temperature", "0"], "error: temperature must be greater than 0."),
    "temperature-inf": (["--temperature", "inf"], "error: temperature must be a finite number."),
    "layers": (["--student-layers", "0,99"], "error: layer 99 is past the teacher's last layer (3)"),
    "empty-corpus": (["--corpus", "EMPTY"], "error: The corpus is empty: give at least two non-empty lines of text."),
    "missing-corpus": (
        ["--corpus", "/nonexistent/corpus.txt"],
        "error: corpus file '/nonexistent/corpus.txt' does not exist",
    ),
}


def test_cli_refuses_bad_settings_in_one_line(tiny_models, tmp_path):
    """Exit 2, one `error: ...` line, no traceback, nothing saved. The runs go side by side (each
    subprocess spends seconds importing torch)."""
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = {}
    for name, (flags, _) in CLI_REFUSALS.items():
        flags = [str(empty) if f == "EMPTY" else f for f in flags]
        out = tmp_path / f"out-{name}"
        command = ["distill", "--teacher", tiny_models["fill-mask-bert"], "--steps", "2", "--out", str(out), *flags]
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "distilbert_demo", *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, (name, stderr)
        assert "Traceback" not in stderr, name
        assert stderr.strip() == CLI_REFUSALS[name][1], name
        assert stdout == "" and not (tmp_path / f"out-{name}").exists(), name


@pytest.mark.parametrize(
    "changes",
    [{"temperature": math.inf}, {"alpha_ce": math.nan}, {"alpha_cos": math.inf}],
    ids=["temperature-inf", "alpha_ce-nan", "alpha_cos-inf"],
)
def test_non_finite_settings_are_refused(changes):
    """inf or nan passes `not temperature > 0` and `min(alphas) < 0`, then turns every loss into nan."""
    with pytest.raises(InputError, match="must be a finite number"):
        DistillConfig(**changes).check()


def test_a_batch_without_masked_tokens_does_not_report_nan(tiny_teacher_model):
    train, heldout = corpus.split(corpus.toy_corpus())
    config = DistillConfig(steps=30, batch_size=1, seq_len=16, eval_every=30)
    model, tokenizer = tiny_teacher_model.model, tiny_teacher_model.tokenizer
    # The precondition, through the package's own data pipeline with the same seed: some batch has no mask.
    probe = Distiller(model, tokenizer, train, heldout, config)
    unmasked = [i for i, batch in enumerate(islice(probe.loader, config.steps)) if (batch["labels"] == -100).all()]
    assert unmasked, "no batch without a masked token in this run: the test proves nothing"
    distiller = Distiller(model, tokenizer, train, heldout, config)
    list(distiller.run())
    assert all(torch.isfinite(p).all() for p in distiller.result.student.parameters())
    bad = [h["step"] for h in distiller.result.history if not all(math.isfinite(v) for v in h.values())]
    assert not bad, f"NaN losses at steps {bad} (batches without a masked token: {[i + 1 for i in unmasked]})"


# ---------------------------------------------------------------- 5. a corpus file too big for memory, two processes


def test_a_corpus_file_too_big_for_memory_is_streamed(monkeypatch, tmp_path, tiny_teacher_model):
    monkeypatch.setattr(corpus, "IN_MEMORY_LINES", 20)
    lines = corpus.toy_corpus()[:60]
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    big.write_text("\n\n".join(lines) + "\n", encoding="utf-8")  # blank lines do not count
    assert corpus.load_corpus_file(small, heldout_count=8) == (*corpus.split(lines[:20]), 0)  # at the limit: memory
    source, heldout, skip = corpus.load_corpus_file(big, heldout_count=8)
    assert source == str(big) and heldout == lines[:8] and skip == len(heldout) == 8

    model, tokenizer = tiny_teacher_model.model, tiny_teacher_model.tokenizer
    config = small_config(steps=3, eval_every=3)
    distiller = Distiller(model, tokenizer, source, heldout, config, train_skip_lines=skip)
    stream = distiller.loader.dataset
    assert (stream.source, stream.skip_lines) == (str(big), 8)
    # the training stream is the file minus the held-out lines: its first pass holds exactly their tokens
    body = corpus.PackedTextStream(source, tokenizer, config.seq_len, skip_lines=skip)
    want = sum(len(tokenizer(line, add_special_tokens=False)["input_ids"][: config.seq_len - 2]) for line in lines[8:])
    got, n = 0, 0
    for item in body:
        got, n = got + len(item["input_ids"]) - 2, n + 1
        if got >= want:
            break
    assert got == want
    reports = list(distiller.run())
    assert [r.step for r in reports] == [1, 2, 3]
    assert all(math.isfinite(v) for h in distiller.result.history for v in h.values())
    assert distiller.result.agreement_after.positions > 0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def launched(tiny_models, tmp_path_factory):
    """The CLI under `accelerate launch` on two CPU processes (torchrun, gloo): (process, summary, out folder)."""
    root = tmp_path_factory.mktemp("launch")
    corpus_file, out = root / "corpus.txt", root / "student"
    corpus_file.write_text("\n".join(corpus.toy_corpus()[:120]) + "\n", encoding="utf-8")
    # `--cpu --num_processes 2` starts ONE process in accelerate 1.15 (without an MPI hostfile);
    # `--multi_gpu` on a machine without GPUs starts two through torchrun with the gloo backend.
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--main_process_port",
        str(free_port()),  # not torchrun's default 29500: another test run may hold it
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "distilbert_demo",
        "distill",
        "--teacher",
        tiny_models["fill-mask-bert"],
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--out",
        str(out),
        "--json",
        "--corpus",
        str(corpus_file),
    ]
    # torchrun leaves a torchelastic_* log folder in the temp folder on every launch: give it the test's own
    scratch = root / "tmp"
    scratch.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(scratch)}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # torch 2.8's gloo backend prints "[Gloo] Rank 0 is connected to ..." to stdout itself, both processes
    # at once (2.13 does not): count the result lines only
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout  # only the main process prints, and only once
    return proc, json.loads(lines[0]), out


def test_two_processes_under_accelerate_launch(launched, tiny_models):
    proc, summary, out = launched
    assert summary["processes"] == 2
    assert "Traceback" not in proc.stderr
    assert [h["step"] for h in summary["history"]] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(v) for h in summary["history"] for v in h.values())
    assert [e["step"] for e in summary["evaluations"]] == [0, 3, 6]
    assert summary["out"] == str(out)
    saved = AutoModelForMaskedLM.from_pretrained(out)
    assert isinstance(saved, DistilBertForMaskedLM)
    assert sum(p.numel() for p in saved.parameters()) == summary["student"]["params"]
    assert len(AutoTokenizer.from_pretrained(out)) == len(tiny_vocab())
    assert all(torch.isfinite(p).all() for p in saved.parameters())
    # what was saved is the trained student, not its initialisation
    teacher = BertForMaskedLM.from_pretrained(tiny_models["fill-mask-bert"])
    initial = student.build_student(teacher, summary["student_layers"]).state_dict()
    trained = saved.state_dict()
    assert any(not torch.equal(trained[key], initial[key]) for key in initial)


def test_the_student_keeps_learning_in_the_second_half_under_two_processes(launched):
    _, summary, _ = launched
    evaluations = {e["step"]: (e["top1"], e["kl"]) for e in summary["evaluations"]}
    assert evaluations[3] != evaluations[0]  # it learned in the first half
    assert evaluations[6] != evaluations[3]  # and in the second
