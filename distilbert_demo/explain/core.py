"""Where the points go: token saliency for both models on the same input, with Captum.

Attributions are to the logit of the model's own prediction (the label for sentiment, the token at
the first [MASK] for fill-mask, the chosen span's start and end for question answering), taken at
the word embeddings, one number per token, special tokens included:

- "ig": integrated gradients (captum.attr.LayerIntegratedGradients) from a baseline that is the
  same input with every token but [CLS] and [SEP] replaced by [PAD] (same attention mask). Their
  sum equals the logit at the input minus the logit at the baseline up to the convergence delta,
  which is reported (and shrinks with more steps);
- "gxi": gradient x input (captum.attr.LayerGradientXActivation): one backward pass, no baseline,
  no completeness guarantee; the fast option.

Attribution runs one model at a time holding measure.MACHINE, never while something is timed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import inputs, measure, qa
from ..inputs import InputError
from ..loading import LoadedModel, Pair
from ..settings import setting

METHODS = {"ig": "integrated gradients", "gxi": "gradient x input"}
DEFAULT_STEPS = 50
MAX_STEPS = 500
INTERNAL_BATCH = 16  # interpolation steps per forward pass: bounds the memory of one IG call


@dataclass
class ExplainSettings:
    """The attribution's settings: the CLI's flags, the page's controls and the API's defaults come from
    these fields (settings.py); check_settings bounds what can run."""

    method: str = setting(
        "ig",
        "ig: integrated gradients from a [PAD] baseline; gxi: gradient x input",
        label="Method",
        choices=tuple(METHODS),
    )
    steps: int = setting(
        DEFAULT_STEPS,
        f"integration steps for ig (1-{MAX_STEPS}): more steps, a smaller delta",
        label="Integration steps",
        minimum=1,
        maximum=MAX_STEPS,
        step=1,
    )


@dataclass
class Saliency:
    """One model's attribution of one prediction to its input tokens."""

    side: str
    name: str
    tokens: list[str]
    attributions: list[float]  # one per token, special tokens included
    special: list[bool]  # [CLS], [SEP], [PAD], ... (shown, and marked, on the page)
    target: str  # what was explained: the predicted label / token / span boundary
    probability: float  # the model's probability for it
    method: str
    output: float  # the explained logit at the input
    baseline_output: float | None = None  # the same logit at the baseline (ig)
    delta: float | None = None  # ig: sum(attributions) - (output - baseline_output), as Captum reports it
    part: str = ""  # qa: "start" or "end"

    @property
    def relative_delta(self) -> float | None:
        """|delta| over |output - baseline_output|: the completeness error as a share of what is attributed."""
        if self.delta is None or self.baseline_output is None:
            return None
        gap = abs(self.output - self.baseline_output)
        return abs(self.delta) / gap if gap > 0 else None

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k tokens with the largest attribution (special tokens left out)."""
        ranked = sorted(
            ((t, a) for t, a, s in zip(self.tokens, self.attributions, self.special) if not s),
            key=lambda pair: -pair[1],
        )
        return ranked[:k]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "tokens": self.tokens,
            "attributions": [round(a, 6) for a in self.attributions],
            "special": self.special,
            "target": self.target,
            "probability": round(self.probability, 6),
            "method": self.method,
            "output": round(self.output, 6),
            "baseline_output": None if self.baseline_output is None else round(self.baseline_output, 6),
            "delta": None if self.delta is None else round(self.delta, 6),
            "relative_delta": None if self.relative_delta is None else round(self.relative_delta, 6),
            **({"part": self.part} if self.part else {}),
        }


@dataclass
class Explanation:
    task: str
    text: str
    method: str
    steps: int
    rows: list[Saliency]  # BERT first; for qa each model's start then end
    device: str
    notices: list[str] = field(default_factory=list)
    untrained: bool = False  # a side is an untrained twin: its reasons are those of random weights

    def for_side(self, side: str) -> list[Saliency]:
        return [r for r in self.rows if r.side == side]

    def to_dict(self) -> dict:
        models = {}
        for side in ("bert", "distilbert"):
            rows = self.for_side(side)
            models[side] = rows[0].to_dict() | ({"end": rows[1].to_dict()} if len(rows) > 1 else {})
        return {
            "task": self.task,
            "text": self.text,
            "method": self.method,
            "steps": self.steps,
            "measured_on": self.device,
            "notices": self.notices,
            "untrained": self.untrained,
            "models": models,
        }


def check_settings(method: str, steps: int) -> None:
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)} ({'; '.join(METHODS.values())}).", field="method")
    if method == "ig" and not 1 <= int(steps) <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}.", field="steps")


def baseline_ids(input_ids: torch.Tensor, tokenizer) -> torch.Tensor:
    """The same ids with every token but [CLS] and [SEP] replaced by [PAD]."""
    keep = (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
    return torch.where(keep, input_ids, torch.full_like(input_ids, tokenizer.pad_token_id))


@dataclass
class _Target:
    """What one attribution explains: a function from the model's output to logits (B, K), the index
    in K, and how to name it."""

    pick: Callable[[object], torch.Tensor]
    index: int
    label: str
    probability: float
    part: str = ""


def _targets(loaded: LoadedModel, named: dict[str, torch.Tensor], prepared, context: str) -> list[_Target]:
    """The model's own prediction(s) for this input, computed once here."""
    with torch.no_grad():
        out = loaded.model(**named)
    if loaded.task == "sentiment":
        probs = out.logits[0].float().softmax(-1)
        best = int(probs.argmax())
        return [_Target(lambda o: o.logits, best, loaded.labels[best], float(probs[best]))]
    if loaded.task == "fill-mask":
        position = int(prepared.mask_positions[0])
        probs = out.logits[0, position].float().softmax(-1)
        best = int(probs.argmax())
        token = loaded.tokenizer.decode([best]).strip()
        return [_Target(lambda o, p=position: o.logits[:, p], best, token, float(probs[best]))]
    answer = qa.best_answers(out.start_logits[0], out.end_logits[0], prepared, context, top_k=1)[0]
    start, end = answer.start_token, answer.end_token
    p_start = float(out.start_logits[0].float().softmax(-1)[start])
    p_end = float(out.end_logits[0].float().softmax(-1)[end])
    return [
        _Target(lambda o: o.start_logits, start, f"start of “{answer.text}”", p_start, "start"),
        _Target(lambda o: o.end_logits, end, f"end of “{answer.text}”", p_end, "end"),
    ]


def _attribute(loaded: LoadedModel, named: dict, target: _Target, method: str, steps: int):
    """Captum on the word embeddings; returns (per-token attributions, delta or None)."""
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    names = list(named)  # input_ids first, then the rest as additional arguments
    model = loaded.model

    def forward(input_ids, *rest):
        return target.pick(model(input_ids=input_ids, **dict(zip(names[1:], rest))))

    layer = model.get_input_embeddings()
    extra = tuple(named[n] for n in names[1:])
    with torch.enable_grad():
        if method == "gxi":
            attributions = LayerGradientXActivation(forward, layer).attribute(
                named["input_ids"], target=target.index, additional_forward_args=extra
            )
            return attributions.sum(-1)[0].tolist(), None
        attributions, delta = LayerIntegratedGradients(forward, layer).attribute(
            named["input_ids"],
            baselines=baseline_ids(named["input_ids"], loaded.tokenizer),
            target=target.index,
            additional_forward_args=extra,
            n_steps=steps,
            internal_batch_size=INTERNAL_BATCH,
            return_convergence_delta=True,
        )
    return attributions.sum(-1)[0].tolist(), float(delta[0])


def _logit(loaded: LoadedModel, named: dict, target: _Target) -> float:
    with torch.no_grad():
        return float(target.pick(loaded.model(**named))[0, target.index])


def explain_model(
    loaded: LoadedModel, text: str, method: str = "ig", steps: int = DEFAULT_STEPS, question: str | None = None
) -> tuple[list[Saliency], list[str]]:
    """Saliency of one model's own prediction(s) for `text` (qa: the context, with `question`)."""
    check_settings(method, steps)
    if loaded.task == "qa":
        question, text = qa.check_qa(question, text)
        prepared = qa.prepare_qa(question, text, loaded.tokenizer, loaded.device)
    else:
        prepared = inputs.prepare(text, loaded.task, loaded.tokenizer, loaded.device)
    named = {k: v for k, v in prepared.model_inputs().items() if v is not None}
    ids = named["input_ids"][0].tolist()
    tokens = loaded.tokenizer.convert_ids_to_tokens(ids)
    special = [i in set(loaded.tokenizer.all_special_ids) for i in ids]
    rows = []
    model = loaded.model
    with measure.MACHINE:  # one model at a time, never while something is being timed
        was_training = model.training
        model.eval()
        try:
            for target in _targets(loaded, named, prepared, text):
                attributions, delta = _attribute(loaded, named, target, method, steps)
                output = _logit(loaded, named, target)
                base = None
                if method == "ig":
                    base = _logit(
                        loaded, {**named, "input_ids": baseline_ids(named["input_ids"], loaded.tokenizer)}, target
                    )
                rows.append(
                    Saliency(
                        loaded.side,
                        loaded.name,
                        tokens,
                        attributions,
                        special,
                        target.label,
                        target.probability,
                        method,
                        output,
                        base,
                        delta,
                        target.part,
                    )
                )
        finally:
            model.train(was_training)
    return rows, list(prepared.notices)


def explain(
    pair: Pair,
    text: str,
    method: str = "ig",
    steps: int = DEFAULT_STEPS,
    question: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Explanation:
    """Both models' saliency for the same input, BERT first."""
    check_settings(method, steps)
    rows, notices = [], []
    for done, model in enumerate(pair.sides()):
        found, said = explain_model(model, text, method, steps, question)
        rows += found
        notices += [n for n in said if n not in notices]
        if progress is not None:
            progress(done + 1, 2)
    return Explanation(
        pair.task, text, method, steps, rows, measure.device_label(pair.bert.device), notices, pair.uses_twins
    )


def top_tokens(
    pair: Pair,
    texts: dict[int, str],
    k: int = 3,
    method: str = "gxi",
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, dict[str, list[str]]]:
    """Each model's k most attributed tokens (special tokens left out) for each text, by key."""
    found: dict[int, dict[str, list[str]]] = {}
    for done, (key, text) in enumerate(texts.items(), start=1):
        found[key] = {}
        for model in pair.sides():
            rows, _ = explain_model(model, text, method)
            found[key][model.side] = [token for token, _ in rows[0].top(k)]
        if progress is not None:
            progress(done, len(texts))
    return found
