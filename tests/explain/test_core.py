"""Token saliency on tiny checkpoints, checked against the models' own logits and autograd."""

import json
from contextlib import redirect_stdout
from io import StringIO

import pytest
import torch

from distilbert_demo import cli, inputs
from distilbert_demo.explain import core
from distilbert_demo.inputs import InputError

TEXTS = {"sentiment": "The staff were lovely but the food was cold.", "fill-mask": "The cat sat on the [MASK] today."}


def _named(model, text):
    prepared = inputs.prepare(text, model.task, model.tokenizer, model.device)
    return {k: v for k, v in prepared.model_inputs().items() if v is not None}, prepared


def _target_logit(model, named, prepared):
    """The logit of the model's own prediction, found here independently."""
    with torch.no_grad():
        logits = model.model(**named).logits
    row = logits[0] if model.task == "sentiment" else logits[0, prepared.mask_positions[0]]
    return int(row.argmax()), (
        lambda out: out.logits[0] if model.task == "sentiment" else out.logits[0, prepared.mask_positions[0]]
    )


@pytest.mark.parametrize("task", ["sentiment", "fill-mask"])
def test_integrated_gradients_add_up_to_the_logit_change_within_the_delta(tiny_store, task):
    for model in tiny_store.pair(task).sides():
        (row,), _ = core.explain_model(model, TEXTS[task], "ig", steps=200)
        named, prepared = _named(model, TEXTS[task])
        index, pick = _target_logit(model, named, prepared)
        baseline = {**named, "input_ids": core.baseline_ids(named["input_ids"], model.tokenizer)}
        with torch.no_grad():
            at_input = float(pick(model.model(**named))[index])
            at_baseline = float(pick(model.model(**baseline))[index])
        # the baseline keeps [CLS] and [SEP] and the mask, and pads everything else
        kept = baseline["input_ids"][0] != model.tokenizer.pad_token_id
        assert kept.sum() == 2 and baseline["input_ids"][0, 0] == model.tokenizer.cls_token_id
        total = sum(row.attributions)
        assert abs(total - (at_input - at_baseline)) <= abs(row.delta) + 1e-5
        assert abs(total - (at_input - at_baseline)) < 0.05 * abs(at_input - at_baseline)  # the delta is small
        assert row.output == pytest.approx(at_input, abs=1e-5)
        assert row.baseline_output == pytest.approx(at_baseline, abs=1e-5)


@pytest.mark.parametrize("task", ["sentiment", "fill-mask"])
def test_gradient_x_input_is_the_autograd_product_at_the_word_embeddings(tiny_store, task):
    for model in tiny_store.pair(task).sides():
        (row,), _ = core.explain_model(model, TEXTS[task], "gxi")
        named, prepared = _named(model, TEXTS[task])
        index, pick = _target_logit(model, named, prepared)
        captured = {}

        def keep(module, args, output, captured=captured):
            output.retain_grad()
            captured["embeddings"] = output

        hook = model.model.get_input_embeddings().register_forward_hook(keep)
        try:
            with torch.enable_grad():
                pick(model.model(**named))[index].backward()
        finally:
            hook.remove()
            model.model.zero_grad(set_to_none=True)
        embeddings = captured["embeddings"]
        expected = (embeddings.grad * embeddings).sum(-1)[0]
        assert torch.allclose(torch.tensor(row.attributions), expected.detach(), atol=1e-6)
        assert row.delta is None and row.baseline_output is None


def test_tokens_and_attributions_line_up_special_tokens_included(tiny_store):
    for model in tiny_store.pair("sentiment").sides():
        (row,), _ = core.explain_model(model, TEXTS["sentiment"], "gxi")
        named, _ = _named(model, TEXTS["sentiment"])
        ids = named["input_ids"][0].tolist()
        assert row.tokens == model.tokenizer.convert_ids_to_tokens(ids)
        assert len(row.attributions) == len(row.tokens) == len(row.special) == len(ids)
        assert (row.tokens[0], row.tokens[-1]) == ("[CLS]", "[SEP]") and row.special[0] and row.special[-1]
        assert not any(row.special[1:-1])
        assert all(token not in ("[CLS]", "[SEP]") for token, _ in row.top(5))  # the summary leaves them out


def test_question_answering_explains_the_chosen_spans_start_and_end(tiny_store):
    pair = tiny_store.pair("qa")
    result = core.explain(pair, "Maria lives in Paris and works in Lyon.", "gxi", question="Where does Maria live?")
    assert [(r.side, r.part) for r in result.rows] == [
        ("bert", "start"),
        ("bert", "end"),
        ("distilbert", "start"),
        ("distilbert", "end"),
    ]
    data = result.to_dict()
    assert data["models"]["bert"]["part"] == "start" and data["models"]["bert"]["end"]["part"] == "end"
    assert data["models"]["bert"]["target"].startswith("start of")


def test_bad_settings_are_refused():
    with pytest.raises(InputError, match="method must be one of ig, gxi"):
        core.check_settings("lime", 10)
    with pytest.raises(InputError, match="between 1 and 500"):
        core.check_settings("ig", 0)


def test_cli_explain_json(tiny_models):
    out = StringIO()
    with redirect_stdout(out):
        code = cli.main(
            [
                "explain",
                "--task",
                "sentiment",
                "--text",
                TEXTS["sentiment"],
                "--bert",
                tiny_models["sentiment-bert"],
                "--distilbert",
                tiny_models["sentiment-distilbert"],
                "--steps",
                "20",
                "--json",
            ]
        )
    assert code == 0
    data = json.loads(out.getvalue())
    for side in ("bert", "distilbert"):
        model = data["models"][side]
        assert {"tokens", "attributions", "target", "method", "delta"} <= set(model)
        assert len(model["tokens"]) == len(model["attributions"]) and model["method"] == "ig"
        assert model["target"] in ("negative", "positive") and model["delta"] is not None


def test_the_summary_says_when_twins_answer(tiny_store):
    from distilbert_demo.explain import views

    result = core.explain(tiny_store.pair("sentiment"), TEXTS["sentiment"], "gxi")
    assert not result.untrained and "Untrained twins" not in views.summary(result)
    result.untrained = True
    assert "Untrained twins" in views.summary(result) and result.to_dict()["untrained"] is True
