"""The compression ladder: both models in every variant (variants.py), on one scale.

For each model and variant: latency (median and p90 of interleaved runs on one input of `seq_len`
real tokens, batch 1), weight size on disk, peak memory of a forward pass (PyTorch variants), and
what the variant keeps: its top-1 agreement with the same model in fp32, the largest logit
difference from it, and its accuracy with a 95% Wilson interval. Sentiment is scored on the
labelled set (the Evaluate tab's), fill-mask on masked-word recovery in the held-out sentences of
the toy corpus (one word masked in each). Retention is accuracy over BERT fp32's.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from .. import measure, resources, variants
from ..inputs import InputError
from ..labelled import CHANCE, LabelledSet, load_labelled_file
from ..loading import LoadedModel, Pair
from ..measure import MIB, LatencyStats, wilson_interval
from ..settings import setting
from ..sized_inputs import batch_inputs, ids_of_length

log = logging.getLogger(__name__)

TASKS = ("sentiment", "fill-mask")  # accuracy needs labels: the labelled set, or the masked word itself
DEFAULT_SEQ_LEN = 128
DEFAULT_BUDGET_S = 10.0  # seconds of timing for all variants together
MAX_BUDGET_S = 120.0


@dataclass
class LadderSettings:
    """The ladder's settings: the CLI's flags, the page's controls and the API's defaults come from these
    fields (settings.py); check_settings bounds what can run."""

    task: str = setting(
        "sentiment",
        "the model pair: sentiment is scored on the labelled set, fill-mask on the masked word itself",
        label="Model pair",
        choices=TASKS,
    )
    seq_len: int = setting(
        DEFAULT_SEQ_LEN,
        "tokens of the timed input (8-512)",
        label="Tokens of the timed input",
        minimum=8,
        maximum=512,
        step=8,
    )
    budget_s: float = setting(
        DEFAULT_BUDGET_S,
        f"seconds of timing, all variants together (at most {MAX_BUDGET_S:g})",
        label="Seconds of timing (all variants together)",
        minimum=1,
        maximum=MAX_BUDGET_S,
        step=1,
        flag="--seconds",
    )


KEEP = 0.97  # "the fastest model that keeps 97%": the line the chart draws and the verdict uses
# A rung whose median |Δlogit| exceeds 1% of fp32's logit spread says so beside its speed; where
# accuracy cannot tell the rungs apart, the verdict takes the fastest rung within it.
FIDELITY_LIMIT = 0.01
BATCH = 16  # examples per forward pass when scoring


def _mb(size: float) -> str:
    return f"{size:.0f} MB" if size >= 10 else f"{size:.2g} MB"  # a tiny test checkpoint is not "0 MB"


def _relative(value: float | None, spread: float | None) -> float | None:
    return None if value is None or not spread else value / spread


@dataclass
class LadderRow:
    model: str  # "bert" or "distilbert"
    checkpoint: str
    variant: str
    available: bool
    reason: str = ""
    latency: LatencyStats | None = None
    size_mb: float | None = None
    peak_memory_mb: float | None = None  # None for ONNX Runtime: its allocator is outside PyTorch's profiler
    correct: int | None = None
    total: int | None = None
    agreement_with_fp32: float | None = None
    max_abs_diff_vs_fp32: float | None = None
    median_abs_diff_vs_fp32: float | None = None
    logit_spread: float | None = None  # the standard deviation of this model's fp32 logits on the scored set
    build_s: float | None = None
    speedup: float | None = None  # BERT fp32's median over this row's
    retention: float | None = None  # accuracy over BERT fp32's
    note: str = ""

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None or not self.total else self.correct / self.total

    @property
    def ci95(self) -> tuple[float, float] | None:
        return None if self.correct is None or not self.total else wilson_interval(self.correct, self.total)

    @property
    def error(self) -> float | None:
        """The median |logit - fp32's logit| over fp32's logit spread: how far the variant moved the
        model's outputs, meaningful on any weights (random ones included), unlike accuracy."""
        return _relative(self.median_abs_diff_vs_fp32, self.logit_spread)

    @property
    def max_error(self) -> float | None:
        return _relative(self.max_abs_diff_vs_fp32, self.logit_spread)

    @property
    def strays(self) -> bool:
        """Its logits moved further from fp32's than FIDELITY_LIMIT allows."""
        return self.error is not None and self.error > FIDELITY_LIMIT

    @property
    def label(self) -> str:
        return f"{'BERT' if self.model == 'bert' else 'DistilBERT'} {self.variant}"

    def to_dict(self) -> dict:
        def rounded(value, digits=4):
            return None if value is None else round(value, digits)

        latency = (
            None
            if self.latency is None
            else {
                "median": round(self.latency.median_ms, 4),
                "p90": round(self.latency.p90_ms, 4),
                "n": self.latency.runs,
            }
        )
        return {
            "model": self.model,
            "checkpoint": self.checkpoint,
            "variant": self.variant,
            "available": self.available,
            "reason": self.reason,
            "latency_ms": latency,
            "size_mb": rounded(self.size_mb, 3),
            "peak_memory_mb": rounded(self.peak_memory_mb, 3),
            "accuracy": rounded(self.accuracy, 6),
            "ci95": None if self.ci95 is None else [round(x, 6) for x in self.ci95],
            "agreement_with_fp32": rounded(self.agreement_with_fp32, 6),
            "max_abs_diff_vs_fp32": None if self.max_abs_diff_vs_fp32 is None else float(self.max_abs_diff_vs_fp32),
            "median_abs_diff_vs_fp32": rounded(self.median_abs_diff_vs_fp32, 8),
            "logit_spread": rounded(self.logit_spread, 6),
            "median_error_vs_fp32": rounded(self.error, 8),
            "max_error_vs_fp32": rounded(self.max_error, 8),
            "beyond_fidelity_limit": self.strays,
            "speedup_vs_bert_fp32": rounded(self.speedup),
            "retention": rounded(self.retention, 6),
            "build_s": rounded(self.build_s, 3),
            "note": self.note,
        }


@dataclass
class Ladder:
    task: str
    rows: list[LadderRow]
    seq_len: int
    scored_on: str  # what accuracy was measured on
    examples: int
    measured_on: str
    untrained: bool  # a side is an untrained twin: accuracies are noise
    notes: list[str] = field(default_factory=list)

    def row(self, model: str, variant: str) -> LadderRow:
        return next(r for r in self.rows if r.model == model and r.variant == variant)

    @property
    def reference(self) -> LadderRow:
        return self.row("bert", "fp32")

    @property
    def retention_defined(self) -> bool:
        """Retention means something only when BERT fp32 is told apart from chance (its interval
        clear of it); fill-mask's chance is ~0, sentiment's 50%."""
        ci = self.reference.ci95
        chance = CHANCE if self.task == "sentiment" else 0.0
        return ci is not None and ci[0] > chance

    @property
    def judged_by(self) -> str:
        """ "accuracy" when it can tell the rungs apart (trained weights, BERT fp32 clear of chance),
        else "fidelity": each rung's distance from its own model in fp32."""
        return "accuracy" if self.retention_defined and not self.untrained else "fidelity"

    def measured(self) -> list[LadderRow]:
        return [r for r in self.rows if r.available and r.latency is not None]

    def _quality(self, row: LadderRow) -> float | None:
        """Higher is better: accuracy, or minus the fidelity error."""
        if self.judged_by == "accuracy":
            return row.accuracy
        return None if row.error is None else -row.error

    def frontier(self) -> list[LadderRow]:
        """The rows no other row beats on both speed and quality (judged_by), fastest first (the Pareto front)."""
        rows = [r for r in self.measured() if self._quality(r) is not None]
        front, best = [], float("-inf")
        for row in sorted(rows, key=lambda r: r.latency.median_ms):  # a row joins when it beats every faster one
            if self._quality(row) > best:
                front.append(row)
                best = self._quality(row)
        return front

    def fastest_keeping(self, share: float = KEEP) -> LadderRow | None:
        """The fastest row whose accuracy is at least `share` of BERT fp32's."""
        reference = self.reference.accuracy
        if reference is None:
            return None
        keeping = [r for r in self.measured() if r.accuracy is not None and r.accuracy >= share * reference]
        return min(keeping, key=lambda r: r.latency.median_ms, default=None)

    def fastest_faithful(self, limit: float = FIDELITY_LIMIT) -> LadderRow | None:
        """The fastest row whose median logit error against its own fp32 is within `limit` of the spread."""
        faithful = [r for r in self.measured() if r.error is not None and r.error <= limit]
        return min(faithful, key=lambda r: r.latency.median_ms, default=None)

    def best(self) -> LadderRow | None:
        """The verdict's row, by what can judge the rungs here (judged_by)."""
        return self.fastest_keeping() if self.judged_by == "accuracy" else self.fastest_faithful()

    def headline(self) -> str:
        """One line: the fastest rung that keeps KEEP of BERT fp32's accuracy, or, where accuracy
        cannot tell the rungs apart, the fastest within FIDELITY_LIMIT of its own fp32's logits."""
        best, reference = self.best(), self.reference
        if best is None or reference.latency is None:
            return "No variant could be measured."
        size = f"{_mb(best.size_mb)} on disk (BERT fp32: {_mb(reference.size_mb)})"
        if self.judged_by == "accuracy":
            return (
                f"Fastest that keeps {KEEP:.0%} of BERT fp32's accuracy: {best.label}, {best.speedup:.1f}x faster, "
                f"{size}, accuracy {best.accuracy:.1%} vs {reference.accuracy:.1%}"
            )
        return (
            f"Fastest within {FIDELITY_LIMIT:.0%} of its own fp32's logits: {best.label}, {best.speedup:.1f}x faster "
            f"than BERT fp32, {size}; median |Δlogit| {best.error:.2%} of the spread, top-1 agreement "
            f"{best.agreement_with_fp32:.0%}"
        )

    def caveats(self) -> list[str]:
        if self.untrained:
            return [
                "untrained twins: accuracy is noise, so each rung is judged by how far its logits moved from its "
                "own model in fp32; speeds and sizes are real"
            ]
        if not self.retention_defined:
            return [
                "BERT fp32 cannot be told from chance here, so each rung is judged by how far its logits moved "
                "from its own model in fp32"
            ]
        return []

    def to_dict(self) -> dict:
        keeping, faithful = self.fastest_keeping(), self.fastest_faithful()
        return {
            "task": self.task,
            "seq_len": self.seq_len,
            "scored_on": self.scored_on,
            "examples": self.examples,
            "measured_on": self.measured_on,
            "retention_defined": self.retention_defined,
            "judged_by": self.judged_by,
            "fidelity_limit": FIDELITY_LIMIT,
            "caveats": self.caveats(),
            "fastest_keeping_97": None if keeping is None else {"model": keeping.model, "variant": keeping.variant},
            "fastest_within_fidelity_limit": None
            if faithful is None
            else {"model": faithful.model, "variant": faithful.variant},
            "frontier": [{"model": r.model, "variant": r.variant} for r in self.frontier()],
            "notes": self.notes,
            "rows": [r.to_dict() for r in self.rows],
        }


# What each variant is scored on


@dataclass
class Scoring:
    """Batches of named CPU tensors for one model, what is scored in each, and the truth."""

    name: str
    batches: list[dict[str, torch.Tensor]]
    positions: list[torch.Tensor | None]  # fill-mask: (row, column) of the masked token per batch
    truth: list[int]  # label index or masked token id, in order


def sentiment_scoring(loaded: LoadedModel, data: LabelledSet) -> Scoring:
    labels = [loaded.labels.index(label) for label in data.labels]
    batches = []
    for start in range(0, len(data), BATCH):
        encoded = loaded.tokenizer(
            data.texts[start : start + BATCH], padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        batches.append({k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")})
    return Scoring(data.name, batches, [None] * len(batches), labels)


def masked_sentences() -> list[str]:
    """The toy corpus's held-out sentences: never trained on by the Distill tab's students either."""
    return resources.split(resources.toy_corpus())[1]


def fill_mask_scoring(loaded: LoadedModel, sentences: list[str]) -> Scoring:
    """Each sentence with its middle word-piece masked; the truth is that piece."""
    tok = loaded.tokenizer
    batches, positions, truth = [], [], []
    for start in range(0, len(sentences), BATCH):
        encoded = tok(
            sentences[start : start + BATCH], padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        ids = encoded["input_ids"]
        lengths = encoded["attention_mask"].sum(1)
        columns = (lengths - 1) // 2  # between [CLS] (0) and [SEP] (length - 1)
        rows = torch.arange(len(ids))
        truth += ids[rows, columns].tolist()
        ids[rows, columns] = tok.mask_token_id
        batches.append({k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")})
        positions.append(torch.stack([rows, columns], 1))
    return Scoring("held-out toy-corpus sentences, one word masked", batches, positions, truth)


def score(forward: Callable[[dict[str, torch.Tensor]], torch.Tensor], scoring: Scoring) -> torch.Tensor:
    """The scored logits, one row per example: (N, classes) or (N, vocabulary) at the masks."""
    out = []
    for batch, where in zip(scoring.batches, scoring.positions):
        with measure.MACHINE:  # one batch at a time: a comparison can be timed in between
            logits = forward(batch)
        out.append(logits if where is None else logits[where[:, 0], where[:, 1]])
    return torch.cat(out)


# The ladder


def _build(row: LadderRow, model: LoadedModel, cache: Path, say) -> variants.Variant | None:
    """The variant, or None with the row marked unavailable and why (an export or a compile that
    fails here is reported in its row, not fatal to the ladder)."""
    say(f"{model.side} {row.variant}: {variants.BUILDING[row.variant]}")
    try:
        with measure.MACHINE:
            return variants.KEPT.get(model, row.variant, cache)  # shared with the Compare tab
    except variants.VariantUnavailable as err:
        row.available, row.reason = False, str(err).split(": ", 1)[-1]
    except Exception as err:  # noqa: BLE001
        log.exception("building %s %s failed", model.name, row.variant)
        row.available, row.reason = False, f"failed here: {(str(err).strip().splitlines() or [''])[0][:300]}"
    return None


def _score_row(row: LadderRow, variant: variants.Variant, scoring: Scoring, reference: list, say) -> None:
    """Accuracy, and against fp32 (the first variant scored): top-1 agreement, the largest and the
    median absolute logit difference, and fp32's logit spread that they are read against."""
    made = "loaded from disk (compiled by an earlier run)" if variant.kept else "built"
    row.size_mb, row.build_s = variant.size_bytes / MIB, variant.build_s
    row.note = variant.note + (f"; {made}" if variant.kept else "")
    say(f"{row.model} {row.variant}: {made} in {variant.build_s:.1f} s; scoring on {scoring.name}")
    logits = score(variant.forward, scoring)
    predicted = logits.argmax(-1)
    row.correct, row.total = int((predicted == torch.tensor(scoring.truth)).sum()), len(scoring.truth)
    if not reference:
        reference += [logits, predicted]
    row.agreement_with_fp32 = float((predicted == reference[1]).float().mean())
    difference = (logits - reference[0]).abs()
    row.max_abs_diff_vs_fp32, row.median_abs_diff_vs_fp32 = float(difference.max()), float(difference.median())
    row.logit_spread = float(reference[0].std())


def check_settings(task: str, seq_len: int, budget_s: float, chosen: list[str]) -> None:
    if task not in TASKS:
        why = f"the ladder scores {' and '.join(TASKS)} (accuracy needs labels), not {task!r}."
        raise InputError(why, field="task")
    if not 8 <= int(seq_len) <= 512:
        raise InputError("the sequence length must be between 8 and 512 tokens.", field="seq_len")
    if not 0 < float(budget_s) <= MAX_BUDGET_S:
        raise InputError(f"the timing budget must be between 0 and {MAX_BUDGET_S:g} seconds.", field="budget_s")
    unknown = [v for v in chosen if v not in variants.VARIANTS]
    if unknown or not chosen:
        raise InputError(f"choose variants among {', '.join(variants.VARIANTS)}.", field="variants")


@dataclass
class Built:
    """Every chosen variant of both models, built and scored: ready to be timed at any length."""

    task: str
    rows: list[LadderRow]
    runs: dict[tuple[str, str], variants.Variant]  # (model, variant) -> the variant
    models: dict[str, LoadedModel]  # side -> the loaded model (its tokenizer makes the timed input)
    scored_on: str
    examples: int
    untrained: bool
    notes: list[str] = field(default_factory=list)


def build_and_score(
    pair: Pair,
    cache: Path,
    chosen: list[str] | tuple[str, ...] = variants.VARIANTS,
    data: LabelledSet | None = None,
    progress: Callable[[str], None] | None = None,
) -> Built:
    """Build every chosen variant of both models (fp32 always: it is the reference) and score it."""
    chosen = list(dict.fromkeys(["fp32", *chosen]))
    check_settings(pair.task, DEFAULT_SEQ_LEN, DEFAULT_BUDGET_S, chosen)
    say = progress or (lambda _: None)
    data = data if data is not None or pair.task != "sentiment" else load_labelled_file(None)
    sentences = masked_sentences() if pair.task == "fill-mask" else []
    rows, runs = [], {}
    for model in pair.sides():
        scoring = sentiment_scoring(model, data) if pair.task == "sentiment" else fill_mask_scoring(model, sentences)
        reference: list[torch.Tensor] = []  # fp32's scored logits and predictions (fp32 is built first)
        for name in chosen:
            row = LadderRow(model.side, model.name, name, available=True)
            rows.append(row)
            variant = _build(row, model, cache, say)
            if variant is not None:
                _score_row(row, variant, scoring, reference, say)
                runs[(model.side, name)] = variant
    notes = []
    if any(r.variant in variants.ONNX and r.available for r in rows):
        notes.append("ONNX Runtime variants: attention maps stay on the PyTorch model")
    models = {m.side: m for m in pair.sides()}
    return Built(pair.task, rows, runs, models, scoring.name, len(scoring.truth), pair.uses_twins, notes)


def time_ladder(
    built: Built,
    seq_len: int = DEFAULT_SEQ_LEN,
    budget_s: float = DEFAULT_BUDGET_S,
    progress: Callable[[str], None] | None = None,
) -> Ladder:
    """Time every built variant together on one input of `seq_len` real tokens (batch 1, runs
    interleaved), and measure each PyTorch variant's peak memory on it."""
    check_settings(built.task, seq_len, budget_s, ["fp32"])
    rows = [replace(row) for row in built.rows]  # a fresh copy: one Built can be timed at several lengths
    inputs = {}  # the Benchmark tab's input of exactly seq_len real tokens, batch 1, on the CPU
    for side, model in built.models.items():
        ids = ids_of_length(model.tokenizer, seq_len, built.task == "fill-mask")
        inputs[side] = {k: v.cpu() for k, v in batch_inputs(model, ids, 1).items()}
    for row in rows:
        variant = built.runs.get((row.model, row.variant))
        if variant is not None and row.variant not in variants.ONNX:  # PyTorch's profiler sees PyTorch's allocator
            with measure.MACHINE:
                forward = lambda v=variant, i=inputs[row.model]: v.forward(i)  # noqa: E731
                row.peak_memory_mb = measure.peak_forward_bytes(forward) / MIB
    (progress or (lambda _: None))(f"timing {len(built.runs)} variants together at {seq_len} tokens")
    forwards = {key: (lambda v=v, i=inputs[key[0]]: v.forward(i)) for key, v in built.runs.items()}
    with measure.OutsideLoad() as outside:
        timings = measure.time_interleaved(forwards, budget_s=budget_s) if forwards else {}
    for row in rows:
        row.latency = timings.get((row.model, row.variant))
    result = Ladder(
        built.task,
        rows,
        seq_len,
        built.scored_on,
        built.examples,
        measure.device_label(measure.CPU),
        built.untrained,
        list(built.notes),
    )
    reference = result.reference
    for row in result.measured():
        row.speedup = reference.latency.median_ms / row.latency.median_ms
        if reference.accuracy and row.accuracy is not None:
            row.retention = row.accuracy / reference.accuracy
    if outside.share > measure.OutsideLoad.BUSY:
        result.notes.append(f"other processes used {outside.share:.0%} of the CPUs while timing")
    return result


def ladder(
    pair: Pair,
    cache: Path,
    chosen: list[str] | tuple[str, ...] = variants.VARIANTS,
    seq_len: int = DEFAULT_SEQ_LEN,
    data: LabelledSet | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    progress: Callable[[str], None] | None = None,
) -> Ladder:
    """Build, score and time every chosen variant of both models (fp32 always: it is the reference)."""
    check_settings(pair.task, seq_len, budget_s, ["fp32", *chosen])
    return time_ladder(build_and_score(pair, cache, chosen, data, progress), seq_len, budget_s, progress)


def onnx_bundle(loaded: LoadedModel, cache: Path, target: Path) -> int:
    """A zip that a phone or a browser runtime (ONNX Runtime Mobile / Web) loads: the int8 ONNX model
    with the tokenizer files and the config (its labels). Returns its size in bytes."""
    variants.check("onnx-int8")
    with measure.MACHINE:
        model = variants.quantize_onnx(variants.export_onnx(loaded, variants.cache_folder(loaded, cache)))
    with tempfile.TemporaryDirectory() as tmp:
        loaded.tokenizer.save_pretrained(tmp)
        loaded.model.config.save_pretrained(tmp)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.write(model, "model.onnx")
            for path in sorted(Path(tmp).iterdir()):
                bundle.write(path, path.name)
    return target.stat().st_size
