"""The benchmark sweep: latency and memory of both models over sequence lengths, batch sizes
and precisions, measured the way the comparison measures one point.

Each point feeds both models the same batch of real text cut to exactly `seq_len` tokens
(one [MASK] in the middle of each sequence for fill-mask), runs the production path (encoder,
then the vocabulary projection at the mask only), warms up, then times `repeats` runs of each
model interleaved run by run. For fill-mask the same texts also go through
`transformers.pipeline("fill-mask")`, the baseline the app's path is compared with.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field

import torch
from transformers import pipeline

from .. import arithmetic, int8, measure, predict, registry, variants
from ..inputs import InputError
from ..loading import LoadedModel, Pair
from ..settings import setting
from ..sized_inputs import batch_inputs, ids_of_length

SEQ_LENS = (8, 16, 32, 64, 128, 256, 512)
BATCH_SIZES = (1, 2, 4, 8, 16, 32)
PRECISIONS = ("fp32", "int8", "bf16")
MAX_SEQ_LEN, MAX_BATCH, MAX_REPEATS = 512, 64, 100
WARMUP = 2  # untimed runs per model before each point's timed runs
PAPER_CPU_SPEEDUP = 1.63  # DistilBERT paper, CPU inference, batch 1


@dataclass
class BenchSettings:
    """A sweep's settings; the CLI flags and the Benchmark tab's controls are derived from these fields.
    The CLI sweeps the whole surface by default; the page starts with a quick part of it."""

    task: str = setting("fill-mask", "which pair to measure", label="Model pair", choices=tuple(registry.TASKS))
    precision: str = setting("fp32", "weights and arithmetic", label="Precision", choices=PRECISIONS)
    repeats: int = setting(
        10,
        "timed runs per model and point",
        label="Timed runs per model and point",
        minimum=1,
        maximum=MAX_REPEATS,
        step=1,
    )
    seq_lens: list[int] = setting(
        list(SEQ_LENS),
        "sequence lengths (tokens)",
        label="Sequence lengths (tokens)",
        choices=SEQ_LENS,
        page_default=[16, 64, 128],
    )
    batch_sizes: list[int] = setting([1, 8], "batch sizes", label="Batch sizes", choices=BATCH_SIZES, page_default=[1])
    baseline: bool = setting(
        True,
        "skip transformers.pipeline (fill-mask)",
        label="Also time transformers.pipeline (fill-mask, fp32)",
        flag="--no-baseline",
    )


@dataclass
class BenchRow:
    model: str  # "bert", "distilbert", "bert (pipeline)", "distilbert (pipeline)"
    seq_len: int
    batch_size: int
    precision: str
    median_ms: float
    p10_ms: float
    p90_ms: float
    peak_memory_mb: float
    runs: int
    samples_ms: list[float] = field(default_factory=list, repr=False)  # the timed runs, in order
    outside_load: float = 0.0  # share of the CPUs other processes used while this point was timed

    @property
    def sequences_per_s(self) -> float:
        return self.batch_size / (self.median_ms / 1000)

    def to_dict(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k != "samples_ms"}
        return {**row, "sequences_per_s": round(self.sequences_per_s, 3)}


def precision_supported(precision: str, device: torch.device) -> tuple[bool, str]:
    """Whether this device can run `precision`, and if not, why (shown to the user)."""
    if precision == "fp32":
        return True, ""
    if precision == "int8":
        if device.type != "cpu":
            return False, "int8 (torchao, dynamic activations) runs on the CPU only"
        return variants.availability("int8")
    if precision == "bf16":
        if device.type == "cuda":
            return (torch.cuda.is_bf16_supported(), "this GPU has no bf16 support")
        return True, ""  # always runs on CPU; fast only with bf16 units (see distill.bf16_is_fast)
    return False, f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}"


def with_precision(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """A copy of `model` in `precision` (the loaded fp32 model is never changed)."""
    if precision == "fp32":
        return model
    if precision == "bf16":
        return copy.deepcopy(model).to(torch.bfloat16)
    return int8.eager(model)  # a copy: the ladder's eager int8 rung (int8.py), one definition


def production_run(model, inputs: dict, task: str, mask_index: int) -> Callable[[], torch.Tensor]:
    """The app's path for a batch: the head only at the mask for fill-mask, the classifier otherwise."""
    if task == "fill-mask" and predict.has_split_head(model):

        def run():
            hidden = predict.encode(model, inputs)  # (B, T, H)
            return predict.mlm_head(model, hidden[:, mask_index])  # (B, V)

        return run
    return lambda: model(**inputs)[0]  # sentiment logits; for question answering, the start logits


def _pipeline_run(loaded: LoadedModel, model, ids: list[int], batch_size: int) -> Callable[[], object]:
    """The pipeline on the decoded text (its own tokenising may shift the length by a token or two)."""
    fill_mask = pipeline("fill-mask", model=model, tokenizer=loaded.tokenizer, device=loaded.device, top_k=5)
    text = loaded.tokenizer.decode(ids)
    texts = [text] * batch_size
    return lambda: fill_mask(texts, batch_size=batch_size)


@dataclass
class Progress:
    done: int
    total: int
    label: str


def check_settings(
    seq_lens: list[int], batch_sizes: list[int], precision: str, repeats: int, device: torch.device
) -> None:
    """Refuse a sweep that cannot run, before anything runs."""
    supported, why = precision_supported(precision, device)
    if not supported:
        raise InputError(f"{precision} is not available here: {why}.", field="precision")
    if not seq_lens:
        raise InputError("choose at least one sequence length and one batch size.", field="seq_lens")
    if not batch_sizes:
        raise InputError("choose at least one sequence length and one batch size.", field="batch_sizes")
    if max(seq_lens) > MAX_SEQ_LEN or min(seq_lens) < 3:
        raise InputError(f"sequence lengths must be between 3 and {MAX_SEQ_LEN} tokens.", field="seq_lens")
    if min(batch_sizes) < 1 or max(batch_sizes) > MAX_BATCH:
        raise InputError(f"batch sizes must be between 1 and {MAX_BATCH}.", field="batch_sizes")
    if not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"repeats must be between 1 and {MAX_REPEATS}.", field="repeats")


def sweep(
    pair: Pair,
    seq_lens: list[int],
    batch_sizes: list[int],
    precision: str = "fp32",
    repeats: int = 10,
    warmup: int = WARMUP,
    baseline: bool = True,
    stop: threading.Event | None = None,
) -> Iterator[Progress | BenchRow]:
    """Yield a Progress before each point and a BenchRow for each measurement, smallest first."""
    device = pair.bert.device
    check_settings(seq_lens, batch_sizes, precision, repeats, device)
    models = {
        side: with_precision(m.model, precision) for side, m in (("bert", pair.bert), ("distilbert", pair.distilbert))
    }
    with_baseline = baseline and pair.task == "fill-mask" and precision == "fp32"
    points = [(t, b) for b in sorted(batch_sizes) for t in sorted(seq_lens)]
    for index, (seq_len, batch_size) in enumerate(points):
        if stop is not None and stop.is_set():
            return
        yield Progress(index, len(points), f"{seq_len} tokens x batch {batch_size}")
        runs = {}
        for side, loaded in (("bert", pair.bert), ("distilbert", pair.distilbert)):
            # Each model's own tokenizer (the QA pair's differ: cased vs uncased), same length.
            ids = ids_of_length(loaded.tokenizer, seq_len, with_mask=pair.task == "fill-mask")
            inputs = batch_inputs(loaded, ids, batch_size)
            runs[side] = production_run(models[side], inputs, pair.task, mask_index=1 + len(ids) // 2)
            if with_baseline:
                runs[f"{side} (pipeline)"] = _pipeline_run(loaded, models[side], ids, batch_size)
        with measure.MACHINE:  # one point at a time: a comparison can be timed between two points
            with measure.OutsideLoad() as outside:
                stats = measure.time_interleaved(runs, repeats=repeats, warmup=warmup, device=device)
            peaks = {name: measure.peak_forward_bytes(run, device) / measure.MIB for name, run in runs.items()}
        for name, samples in stats.items():
            yield BenchRow(
                model=name,
                seq_len=seq_len,
                batch_size=batch_size,
                precision=precision,
                median_ms=samples.median_ms,
                p10_ms=samples.p10_ms,
                p90_ms=samples.p90_ms,
                peak_memory_mb=peaks[name],
                runs=samples.runs,
                samples_ms=samples.samples_ms,
                outside_load=round(outside.share, 4),
            )


def flops_ratios(pair: Pair, seq_lens: list[int]) -> dict[int, float]:
    """The speed-up the arithmetic expects at each length (arithmetic.expected_speedup, as Compare
    uses it): both models see exactly `seq_len` tokens, one [MASK] each for fill-mask, in the same
    precision, so the bound applies at every point. The batch multiplies both sides' FLOPs alike:
    the ratio is the same at every batch size."""
    slow, fast = pair.bert.model.config, pair.distilbert.model.config
    return {t: arithmetic.expected_speedup(slow, t, fast, t, pair.task) for t in sorted(set(seq_lens))}


def point_speedups(rows: list[BenchRow], expected: Mapping[int, float]) -> list[tuple[int, int, measure.Speedup]]:
    """(seq_len, batch_size, BERT median / DistilBERT median with its bootstrap interval over the
    interleaved runs, next to the FLOPs ratio at that length) for every point, app path."""
    by_point: dict[tuple[int, int], dict[str, BenchRow]] = {}
    for row in rows:
        by_point.setdefault((row.seq_len, row.batch_size), {})[row.model] = row
    table = []
    for (t, b), m in sorted(by_point.items()):
        if "bert" in m and "distilbert" in m:
            slow, fast = m["bert"], m["distilbert"]
            low, high = measure.ratio_interval(slow.samples_ms, fast.samples_ms)
            table.append((t, b, measure.Speedup(slow.median_ms / fast.median_ms, low, high, expected.get(t))))
    return table


def speedups(rows: list[BenchRow], expected: Mapping[int, float]) -> list[dict]:
    """Every point's speed-up with its 95% interval, `expected` (the FLOPs ratio at that length, from
    flops_ratios), `bound` (that plus the implementations' overheads) and `past_bound` (the whole
    interval beyond it: measure.Speedup's rule, the Compare tab's)."""
    table = []
    for t, b, speedup in point_speedups(rows, expected):
        shown = {k: v for k, v in speedup.to_dict().items() if k != "value"}
        table.append({"seq_len": t, "batch_size": b, "speedup": round(speedup.value, 4), **shown})
    return table


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.2f}x", f"{max(values):.2f}x"
    return low if low == high else f"{low}-{high}"


def reading(rows: list[BenchRow], expected: Mapping[int, float]) -> str:
    """One sentence that reads the result, anchored to the paper's 1.63x, next to the FLOPs ratio at
    the sweep's lengths; points whose interval lies wholly past the bound are left out of the range
    and said to be faster than the arithmetic allows, in the Compare tab's words."""
    table = point_speedups(rows, expected)
    if not table:
        return ""
    # The point nearest the paper's setting: batch 1, a sentence-length input (~128 tokens).
    t, b, anchor = min(table, key=lambda p: (p[1] != 1, abs(p[0] - 128)))
    sentence = (
        f"At {t} tokens, batch {b}: {anchor.value:.2f}x "
        f"(paper {PAPER_CPU_SPEEDUP}x on CPU; 95% CI {anchor.low:.2f}-{anchor.high:.2f})"
    )
    sound = [s.value for *_, s in table if not s.past_bound]
    if sound:
        sentence += f"; across the sweep {min(sound):.2f}x to {max(sound):.2f}x"
    ratios = {t: s.expected for t, _, s in table if s.expected is not None}
    if ratios:
        lengths = "this length" if len(ratios) == 1 else "these lengths"
        sentence += f" (the FLOPs ratio at {lengths} is {_span(list(ratios.values()))})"
    sentence += "."
    busiest = max((row.outside_load for row in rows), default=0.0)
    if busiest > measure.OutsideLoad.BUSY:
        sentence += f" Other processes used up to {busiest:.0%} of the CPUs while timing: the figures may be noisy."
    flagged: dict[str, list[str]] = {}  # one sentence per wording: the points at one length share it
    for t, b, s in table:
        if s.past_bound:
            flagged.setdefault(s.warning(), []).append(f"{t} tokens x batch {b}")
    for warning, points in flagged.items():
        sentence += f" At {', '.join(points)} the speed-up is {warning}."
    return sentence


def result_dict(
    settings: BenchSettings,
    rows: list[BenchRow],
    device: str,
    expected: Mapping[int, float],
    stopped: bool = False,
) -> dict:
    """What the CLI's --json and the API return for a sweep; `expected` is flops_ratios' (each point
    of `speedup` carries its own `expected` and `bound`)."""
    return {
        "task": settings.task,
        "device": device,
        "threads": torch.get_num_threads(),
        "measured_on": measure.device_label(device),
        "precision": settings.precision,
        "rows": [row.to_dict() for row in rows],
        "speedup": speedups(rows, expected),
        "reading": reading(rows, expected),
        "stopped": stopped,
    }


def run(pair: Pair, settings: BenchSettings, stop: threading.Event | None = None) -> Iterator[Progress | BenchRow]:
    """The sweep `settings` describe, on `pair` (the CLI and the tab both run it this way)."""
    return sweep(
        pair,
        settings.seq_lens,
        settings.batch_sizes,
        settings.precision,
        settings.repeats,
        baseline=settings.baseline,
        stop=stop,
    )
