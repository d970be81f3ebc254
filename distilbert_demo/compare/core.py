"""The side-by-side comparison: both models, the same text, predictions and measurements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from .. import arithmetic, inputs, measure, predict, qa, students
from ..loading import LoadedModel, Pair
from ..measure import MIB, LatencyStats

DEFAULT_TOP_K = 5
DEFAULT_BUDGET_S = 2.0  # seconds of timing per comparison, unless a number of runs is asked for
MAX_BUDGET_S = 30.0
MAX_TOP_K = 20
MAX_REPEATS = measure.MAX_RUNS
RANDOM_WEIGHTS = "untrained twins (random weights): the predictions mean nothing"
STUDENT_OF_A_TWIN = "BERT is an untrained twin and the student learned from it: the predictions mean nothing"


@dataclass
class ModelReport:
    name: str
    source: str
    params: int
    layers: int
    weights_mb: float  # MiB (2**20 bytes) of parameters and buffers
    latency: LatencyStats
    peak_memory_mb: float | None  # MiB allocated on top of the weights at the peak of one forward pass
    # (None for a runtime outside PyTorch, ONNX Runtime: its allocator is not seen by the profiler)
    output: predict.TaskOutput
    num_tokens: int
    note: str = ""

    def predictions_json(self) -> list:
        if self.output.task in ("sentiment", "qa"):  # one ranked list of labels / answers
            return [asdict(p) for p in self.output.predictions]
        return [[{"token": c.token, "score": c.score} for c in mask] for mask in self.output.predictions]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "params": self.params,
            "layers": self.layers,
            "weights_mb": round(self.weights_mb, 3),
            "latency_ms": {
                "median": round(self.latency.median_ms, 4),
                "p90": round(self.latency.p90_ms, 4),
                "runs": self.latency.runs,
                "warmup": self.latency.warmup,
            },
            "peak_memory_mb": None if self.peak_memory_mb is None else round(self.peak_memory_mb, 3),
            "num_tokens": self.num_tokens,
            "predictions": self.predictions_json(),
            "note": self.note,
        }


@dataclass
class PredictionAgreement:
    top1_match: bool  # same top prediction (at every mask)
    top1_matches: int  # how many masks (or 1 for sentiment) agree on the top prediction
    positions: int  # masks compared (1 for sentiment)
    topk_overlap: float  # mean share of the top-k candidates the two lists have in common
    js_divergence: float | None  # mean Jensen-Shannon divergence in bits (0 = same, 1 = disjoint)


def js_divergence_bits(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between rows of p and q, in bits, shape (rows,)."""
    p, q = p.double(), q.double()
    m = (p + q) / 2
    kl_pm = torch.special.xlogy(p, p / m).nan_to_num(0.0).sum(-1)  # 0 log 0 = 0
    kl_qm = torch.special.xlogy(q, q / m).nan_to_num(0.0).sum(-1)
    return (kl_pm + kl_qm) / 2 / torch.log(torch.tensor(2.0, dtype=torch.float64))


def _top_tokens(output: predict.TaskOutput) -> list[list[str]]:
    if output.task == "sentiment":  # one ranked list of labels
        return [[p.label for p in output.predictions]]
    if output.task == "qa":  # one ranked list of answers, compared by their text
        return [[p.text.strip().lower() for p in output.predictions]]
    return [[c.token for c in mask] for mask in output.predictions]


def agreement(a: predict.TaskOutput, b: predict.TaskOutput, same_support: bool) -> PredictionAgreement:
    lists_a, lists_b = _top_tokens(a), _top_tokens(b)
    matches = sum(la[0] == lb[0] for la, lb in zip(lists_a, lists_b))
    overlaps = [len(set(la) & set(lb)) / max(len(la), 1) for la, lb in zip(lists_a, lists_b)]
    js = None
    if same_support and a.distributions.shape == b.distributions.shape:
        js = float(js_divergence_bits(a.distributions, b.distributions).mean())
    return PredictionAgreement(
        top1_match=matches == len(lists_a),
        top1_matches=matches,
        positions=len(lists_a),
        topk_overlap=sum(overlaps) / len(overlaps),
        js_divergence=js,
    )


def _same_vocabulary(a: LoadedModel, b: LoadedModel) -> bool:
    return a.tokenizer.get_vocab() == b.tokenizer.get_vocab()


@dataclass
class Comparison:
    task: str
    text: str
    bert: ModelReport
    distilbert: ModelReport
    agreement: PredictionAgreement
    threads: int
    device: str
    notices: list[str] = field(default_factory=list)
    question: str | None = None
    outside_load: float = 0.0  # share of the CPUs other processes used while timing (OutsideLoad)
    budget_s: float | None = None  # the timing budget, when the runs were not counted out
    measured_on: str = ""  # measure.device_label at timing time: "CPU (...), 2 threads" / "GPU (...)"
    expected_speedup: float | None = None  # the FLOPs ratio at the two token counts (None: different precisions)

    @property
    def speedup(self) -> float:
        return self.bert.latency.median_ms / self.distilbert.latency.median_ms

    @property
    def speedup_interval(self) -> measure.Speedup:
        return measure.Speedup.of(self.bert.latency, self.distilbert.latency, self.expected_speedup)

    @property
    def student(self) -> bool:
        """The DistilBERT side is the student distilled in this session (the Distill tab's)."""
        return self.distilbert.name == students.STUDENT_NAME

    @property
    def titles(self) -> dict[str, str]:
        """What the page calls each side: the student by its name once it runs in DistilBERT's place."""
        return {"bert": "BERT", "distilbert": "Distilled student" if self.student else "DistilBERT"}

    @property
    def untrained(self) -> bool:
        """A side is an untrained twin: its predictions are noise."""
        return "twin" in (self.bert.source, self.distilbert.source)

    def caveats(self) -> list[str]:
        """What the headline must carry where it stands."""
        said = []
        if self.untrained:
            said.append(STUDENT_OF_A_TWIN if self.student else RANDOM_WEIGHTS)
        if self.speedup_interval.past_bound:
            said.append(f"the speed-up is {self.speedup_interval.warning()}")
        if self.outside_load > measure.OutsideLoad.BUSY:
            said.append(f"other processes used {self.outside_load:.0%} of the CPUs while timing")
        return said

    @property
    def size_ratio(self) -> float:
        return self.distilbert.weights_mb / self.bert.weights_mb

    @property
    def param_ratio(self) -> float:
        return self.distilbert.params / self.bert.params

    def verdict(self) -> str:
        fewer = (1 - self.param_ratio) * 100
        agree = self.agreement
        if agree.positions == 1:
            same = "same top prediction" if agree.top1_match else "different top prediction"
        elif agree.top1_match:
            same = f"same top prediction at all {agree.positions} masks"
        elif agree.top1_matches == 0:
            same = f"different top predictions at all {agree.positions} masks"
        else:
            same = f"same top prediction at {agree.top1_matches} of {agree.positions} masks"
        faster = f"{self.speedup:.1f}x faster" if self.speedup >= 1 else f"{1 / self.speedup:.1f}x slower"
        return f"{self.titles['distilbert']}: {faster}, {fewer:.0f}% fewer parameters, {same}"

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "text": self.text,
            **({"question": self.question} if self.question is not None else {}),
            "models": {"bert": self.bert.to_dict(), "distilbert": self.distilbert.to_dict()},
            "agreement": {
                "top1_match": self.agreement.top1_match,
                "top1_matches": self.agreement.top1_matches,
                "positions": self.agreement.positions,
                "topk_overlap": round(self.agreement.topk_overlap, 6),
                "js_divergence": None
                if self.agreement.js_divergence is None
                else round(self.agreement.js_divergence, 6),
            },
            "speedup": round(self.speedup, 4),
            "speedup_interval": self.speedup_interval.to_dict(),
            "outside_load": round(self.outside_load, 4),
            "budget_s": self.budget_s,
            "measured_on": self.measured_on,
            "size_ratio": round(self.size_ratio, 4),
            "param_ratio": round(self.param_ratio, 4),
            "verdict": self.verdict(),
            "caveats": self.caveats(),
            "threads": self.threads,
            "device": self.device,
            "memory_method": measure.MEMORY_METHOD[torch.device(self.device).type],
            "notices": self.notices,
        }


def check_settings(top_k: int, repeats: int | None, budget_s: float = DEFAULT_BUDGET_S) -> None:
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise inputs.InputError(f"top-k must be between 1 and {MAX_TOP_K}.", field="top_k")
    if repeats is not None and not 1 <= int(repeats) <= MAX_REPEATS:
        raise inputs.InputError(f"repeats must be between 1 and {MAX_REPEATS}.", field="repeats")
    if not 0 < budget_s <= MAX_BUDGET_S:
        raise inputs.InputError(f"the timing budget must be between 0 and {MAX_BUDGET_S:g} seconds.")


def compare_pair(
    pair: Pair,
    text: str,
    top_k: int = DEFAULT_TOP_K,
    repeats: int | None = None,
    warmup: int = measure.WARMUP,
    question: str | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
) -> Comparison:
    """Run both models on `text`: predictions, interleaved latency, memory, agreement.

    Timing runs `repeats` rounds, or (None) as many as fit in `budget_s` seconds, at least
    measure.MIN_RUNS. No other model work of the app runs meanwhile (measure.MACHINE).
    For question answering `text` is the context and `question` the question.
    Raises inputs.InputError with a one-line message for input that cannot be run.
    """
    check_settings(top_k, repeats, budget_s)
    models = pair.sides()
    if pair.task == "qa":
        question, text = qa.check_qa(question, text)
        prepared = [qa.prepare_qa(question, text, m.tokenizer, m.device) for m in models]
    else:
        text = inputs.check_text(text, pair.task)
        prepared = [inputs.prepare(text, pair.task, m.tokenizer, m.device) for m in models]
    forwards = {m.side: predict.production_forward(m, p) for m, p in zip(models, prepared)}
    device = models[0].device
    with measure.MACHINE:
        outputs = [predict.run_task(m, p, top_k, context=text) for m, p in zip(models, prepared)]
        with measure.OutsideLoad() as outside:
            latency = measure.time_interleaved(forwards, repeats, warmup, device, budget_s)
        peaks = {
            m.side: measure.peak_forward_bytes(forwards[m.side], m.device) / MIB
            if isinstance(m.model, torch.nn.Module)
            else None
            for m in models
        }
    reports = [
        ModelReport(
            name=m.name,
            source=m.source,
            params=m.params,
            layers=m.layers,
            weights_mb=m.weights_bytes / MIB,
            latency=latency[m.side],
            peak_memory_mb=peaks[m.side],
            output=out,
            num_tokens=p.num_tokens,
            note=m.note,
        )
        for m, p, out in zip(models, prepared, outputs)
    ]
    if pair.task == "fill-mask":
        same_support = _same_vocabulary(*models)
    else:  # sentiment: the same labels; qa: no shared distribution
        same_support = bool(outputs[0].support) and outputs[0].support == outputs[1].support
    notices = list(dict.fromkeys(n for p in prepared for n in p.notices))  # unique, in order
    expected = None  # the FLOPs bound holds between two models on the same code path only
    if len({getattr(m, "variant", "fp32") for m in models}) == 1:
        masks = len(outputs[0].predictions) if pair.task == "fill-mask" else 1
        configs = [m.model.config for m in models]
        expected = arithmetic.expected_speedup(
            configs[0], prepared[0].num_tokens, configs[1], prepared[1].num_tokens, pair.task, masks
        )
    return Comparison(
        task=pair.task,
        text=text,
        bert=reports[0],
        distilbert=reports[1],
        agreement=agreement(outputs[0], outputs[1], same_support),
        threads=torch.get_num_threads(),
        device=str(device),
        notices=notices,
        question=question if pair.task == "qa" else None,
        outside_load=outside.share,
        budget_s=budget_s if repeats is None else None,
        measured_on=measure.device_label(device),
        expected_speedup=expected,
    )
