"""Evaluation on a labelled set: how much of BERT's accuracy DistilBERT keeps, and at what speed.

Both sentiment models label every text of a set (batched, texts sorted by length so that each
batch pads little); the result is each model's accuracy with a 95% Wilson interval, its
confusion matrix, its total time and examples per second, the retention ratio (DistilBERT
accuracy / BERT accuracy, the paper's "97%") and how often the two agree.

The disagreement reel composes two other features on purpose, core to core: explain's saliency
(integrated gradients) and attention's extraction, for each case where the models disagree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import measure, settings
from ..attention import core as attention
from ..explain import core as explain
from ..inputs import InputError
from ..labelled import CHANCE, LABELS, LabelledSet
from ..layer_map import default_layer_map
from ..loading import LoadedModel, Pair
from ..measure import wilson_interval
from ..settings import setting


@dataclass
class ModelEvaluation:
    name: str
    predictions: list[str]
    positive_probability: list[float]
    seconds: float
    labels: list[str]
    source: str = ""  # where the weights came from (loading.SOURCES); "twin" = random weights

    @property
    def near_chance(self) -> bool:
        """Its 95% interval holds the chance level: on this set it cannot be told from guessing."""
        low, high = self.ci95
        return low <= CHANCE <= high

    @property
    def correct(self) -> int:
        return sum(p == t for p, t in zip(self.predictions, self.labels))

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.labels)

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.correct, len(self.labels))

    @property
    def examples_per_second(self) -> float:
        return len(self.labels) / self.seconds if self.seconds > 0 else float("inf")

    def confusion(self) -> list[list[int]]:
        """Rows: true label (negative, positive); columns: predicted label."""
        return [
            [sum(t == true and p == pred for t, p in zip(self.labels, self.predictions)) for pred in LABELS]
            for true in LABELS
        ]

    def to_dict(self) -> dict:
        low, high = self.ci95
        return {
            "name": self.name,
            "accuracy": round(self.accuracy, 6),
            "ci95": [round(low, 6), round(high, 6)],
            "correct": self.correct,
            "examples": len(self.labels),
            "seconds": round(self.seconds, 4),
            "examples_per_second": round(self.examples_per_second, 3),
            "confusion": self.confusion(),
        }


@dataclass
class ReelCase:
    """One example where the two models disagree (so exactly one of them is right)."""

    index: int  # row in the labelled set
    text: str
    label: str
    bert: str
    bert_probability: float  # of its own prediction
    distilbert: str
    distilbert_probability: float
    wrong: str  # "bert" or "distilbert"

    @property
    def wrong_confidence(self) -> float:
        return self.bert_probability if self.wrong == "bert" else self.distilbert_probability


@dataclass
class ReelView:
    saliency: explain.Explanation  # both models' integrated gradients
    attention: dict[str, tuple[list[str], np.ndarray, int]]  # side -> (tokens, head-mean (T, T) map, layer)


def top_tokens(pair: Pair, cases: list[ReelCase], progress: Callable[[int, int], None] | None = None):
    """Each case's most attributed tokens per model (gradient x input, explain's core), by case index."""
    return explain.top_tokens(pair, {case.index: case.text for case in cases}, progress=progress)


def reel_view(pair: Pair, case: ReelCase, steps: int) -> ReelView:
    """Why each model answered as it did on one disagreement: both models' token saliency, and the
    attention of DistilBERT's last layer next to the BERT layer it was initialised from."""
    saliency = explain.explain(pair, case.text, "ig", steps)
    maps = {m.side: attention.extract(m, case.text, "sentiment") for m in pair.sides()}
    aligned = default_layer_map(maps["bert"].layers, maps["distilbert"].layers)
    layers = {"bert": aligned[-1], "distilbert": maps["distilbert"].layers - 1}
    return ReelView(
        saliency,
        {
            side: (maps[side].tokens, maps[side].attentions[layers[side]].mean(0), layers[side])
            for side in ("bert", "distilbert")
        },
    )


@dataclass
class Evaluation:
    data: LabelledSet
    bert: ModelEvaluation
    distilbert: ModelEvaluation
    measured_on: str = ""  # measure.device_label of the timed forward passes

    @property
    def retention(self) -> float:
        return self.distilbert.accuracy / self.bert.accuracy if self.bert.accuracy > 0 else float("nan")

    @property
    def agreement(self) -> float:
        return sum(a == b for a, b in zip(self.bert.predictions, self.distilbert.predictions)) / len(self.data)

    @property
    def speedup(self) -> float:
        return self.bert.seconds / self.distilbert.seconds

    @property
    def retention_defined(self) -> bool:
        """Retention divides by BERT's accuracy: near chance that ratio says nothing."""
        return self.bert.accuracy > 0 and not self.bert.near_chance

    def caveats(self) -> list[str]:
        """What the headline must carry where it stands."""
        said = []
        twins = [title for title, m in (("BERT", self.bert), ("DistilBERT", self.distilbert)) if m.source == "twin"]
        if twins:
            said.append(
                f"{' and '.join(twins)} {'is an untrained twin' if len(twins) == 1 else 'are untrained twins'}"
                " (random weights)"
            )
        if self.distilbert.near_chance and self.retention_defined:  # else the headline says it
            said.append(
                f"DistilBERT's {self.distilbert.accuracy:.1%} cannot be told from chance ({CHANCE:.0%} for "
                f"{len(LABELS)} labels) on {len(self.data)} examples"
            )
        return said

    def headline(self) -> str:
        """Retention when it means something, else why it does not (chance said once, for both models)."""
        if self.retention_defined:
            return (
                f"DistilBERT keeps {self.retention:.1%} of BERT's accuracy "
                f"({self.distilbert.accuracy:.1%} vs {self.bert.accuracy:.1%}) at {self.speedup:.1f}x the speed"
            )
        chance = f"chance ({CHANCE:.0%} for {len(LABELS)} labels) on {len(self.data)} examples"
        if self.distilbert.near_chance:
            return (
                f"Retention is undefined here: neither BERT's {self.bert.accuracy:.1%} nor DistilBERT's "
                f"{self.distilbert.accuracy:.1%} can be told from {chance} "
                f"(DistilBERT at {self.speedup:.1f}x the speed)"
            )
        return (
            f"Retention is undefined here: BERT's {self.bert.accuracy:.1%} cannot be told from {chance} "
            f"(DistilBERT {self.distilbert.accuracy:.1%}, at {self.speedup:.1f}x the speed)"
        )

    def verdict(self) -> str:
        """The headline, then the caveats (one line: the CLI, the JSON)."""
        caveats = self.caveats()
        return self.headline() + (f"; {'; '.join(caveats)}" if caveats else "")

    def cases_with_tokens(self, top_tokens: dict[int, dict[str, list[str]]], method: str) -> pd.DataFrame:
        """cases(), plus each model's top attributed tokens for the rows in `top_tokens` (by set index);
        rows beyond it say that they were not computed."""
        frame = self.cases(only_interesting=True, keep_index=True)
        for side in ("bert", "distilbert"):
            frame[f"{side}_top_tokens_{method}"] = [
                " ".join(top_tokens[i][side]) if i in top_tokens else "(not computed)" for i in frame["index"]
            ]
        return frame.drop(columns="index")

    def cases(self, only_interesting: bool = True, keep_index: bool = False) -> pd.DataFrame:
        """Examples where the two disagree or either is wrong (or all of them)."""
        frame = pd.DataFrame(
            {
                "text": self.data.texts,
                "label": self.data.labels,
                "bert": self.bert.predictions,
                "bert_p_positive": [round(p, 4) for p in self.bert.positive_probability],
                "distilbert": self.distilbert.predictions,
                "distilbert_p_positive": [round(p, 4) for p in self.distilbert.positive_probability],
            }
        )
        if only_interesting:
            keep = (frame["bert"] != frame["distilbert"]) | (frame["bert"] != frame["label"])
            keep |= frame["distilbert"] != frame["label"]
            frame = frame[keep]
        return frame.reset_index(names="index") if keep_index else frame.reset_index(drop=True)

    def reel(self) -> list[ReelCase]:
        """The disagreements, the wrong model's most confident first (the cases worth a look)."""
        cases = []
        rows = zip(
            self.data.texts,
            self.data.labels,
            self.bert.predictions,
            self.bert.positive_probability,
            self.distilbert.predictions,
            self.distilbert.positive_probability,
        )
        for index, (text, label, bert, bert_pos, distil, distil_pos) in enumerate(rows):
            if bert == distil:
                continue
            own = {
                "bert": bert_pos if bert == "positive" else 1 - bert_pos,
                "distilbert": distil_pos if distil == "positive" else 1 - distil_pos,
            }
            wrong = "bert" if bert != label else "distilbert"
            cases.append(ReelCase(index, text, label, bert, own["bert"], distil, own["distilbert"], wrong))
        return sorted(cases, key=lambda case: (-case.wrong_confidence, case.index))

    def to_dict(self) -> dict:
        return {
            "data": {"name": self.data.name, "examples": len(self.data)},
            "models": {"bert": self.bert.to_dict(), "distilbert": self.distilbert.to_dict()},
            "retention": round(self.retention, 6),
            "retention_defined": self.retention_defined,
            "caveats": self.caveats(),
            "agreement": round(self.agreement, 6),
            "speedup": round(self.speedup, 4),
            "measured_on": self.measured_on,
            "verdict": self.verdict(),
        }


def _batches(loaded: LoadedModel, texts: list[str], order: list[int], batch_size: int):
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        encoded = loaded.tokenizer(
            [texts[i] for i in chunk], padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        yield chunk, {k: v.to(loaded.device) for k, v in encoded.items()}


@dataclass
class EvaluateSettings:
    """The evaluation's settings (the CLI's flags come from these fields, settings.py; the page uses the
    defaults)."""

    batch_size: int = setting(32, "texts per forward pass (1-256)", minimum=1, maximum=256)


def evaluate(
    pair: Pair,
    data: LabelledSet,
    batch_size: int = EvaluateSettings.batch_size,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Label every text with both models; batches of similar length, timed interleaved.

    A model's time is the sum of its forward passes (tokenising is not counted).
    """
    if pair.task != "sentiment":
        raise InputError("evaluation needs the sentiment pair")
    bounds = settings.fields(EvaluateSettings)["batch_size"][0].metadata
    if not bounds["minimum"] <= batch_size <= bounds["maximum"]:
        raise InputError(f"batch size must be between {bounds['minimum']} and {bounds['maximum']}.")
    for model in (pair.bert, pair.distilbert):
        if sorted(model.labels) != sorted(LABELS):
            raise InputError(f"{model.name} does not label negative/positive (its labels: {', '.join(model.labels)}).")
    order = sorted(range(len(data)), key=lambda i: len(data.texts[i]))  # similar lengths pad little
    sides = {"bert": pair.bert, "distilbert": pair.distilbert}
    results = {side: {"pred": [None] * len(data), "p": [0.0] * len(data), "s": 0.0} for side in sides}
    streams = {side: _batches(m, data.texts, order, batch_size) for side, m in sides.items()}
    batches = math.ceil(len(data) / batch_size)
    with torch.inference_mode():
        for index in range(batches):
            # Alternate which model goes first, so that machine noise hits both alike.
            names = list(sides) if index % 2 == 0 else list(sides)[::-1]
            with measure.MACHINE:  # one batch of each at a time: a comparison can be timed in between
                for side in names:
                    loaded, out = sides[side], results[side]
                    chunk, inputs = next(streams[side])
                    started = time.perf_counter()
                    probs = loaded.model(**inputs).logits.float().softmax(-1)  # (B, C)
                    if loaded.device.type == "cuda":
                        torch.cuda.synchronize(loaded.device)
                    out["s"] += time.perf_counter() - started
                    positive = loaded.labels.index("positive")
                    for row, i in enumerate(chunk):
                        out["pred"][i] = loaded.labels[int(probs[row].argmax())]
                        out["p"][i] = float(probs[row, positive])
            if progress is not None:
                progress(index + 1, batches)
    evaluations = {
        side: ModelEvaluation(sides[side].name, r["pred"], r["p"], r["s"], data.labels, sides[side].source)
        for side, r in results.items()
    }
    return Evaluation(data, evaluations["bert"], evaluations["distilbert"], measure.device_label(pair.bert.device))
