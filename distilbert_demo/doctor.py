"""Self-check on real weights: `distilbert-demo doctor` and the page's Self-check panel.

In order: the environment, the hub's reachability, then for every default checkpoint that loads
(from the hub or the local Hugging Face cache, never a twin) that the app's predictions equal an
independent reference (transformers.pipeline; for question answering the replay in
reference.py) and, where the model card publishes an example output, that output. A check that
cannot run is skipped with its reason; only a check that ran and disagreed fails.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version

from . import inputs, int8, loading, measure, predict, qa, reference, registry

PIPELINE_TOLERANCE = 1e-5  # the app's scores against the reference, same model, same text
PUBLISHED_TOLERANCE = 2e-3  # against the model cards, which print four decimals
FILL_MASK_TEXT = "Hello I'm a [MASK] model."  # the model cards' example
SENTIMENT_TEXT = "Hello, my dog is cute"  # distilbert-base-uncased-finetuned-sst-2-english's card
QA_EXAMPLE = ("Who wrote the report?", "The report on city traffic was written by Maria Lopez in March.")
# The model cards' published outputs (the hub ids the registry uses by default).
PUBLISHED: dict[str, list[tuple[str, float]] | str] = {
    "bert-base-uncased": [("fashion", 0.1073), ("role", 0.0877), ("new", 0.0534), ("super", 0.0467), ("fine", 0.0271)],
    "distilbert-base-uncased": [
        ("role", 0.0529),
        ("fashion", 0.0397),
        ("business", 0.0347),
        ("model", 0.0346),
        ("modeling", 0.0181),
    ],
    "distilbert-base-uncased-finetuned-sst-2-english": "positive",  # the card prints the label only
}
STATUSES = ("pass", "fail", "skip", "info")


@dataclass
class Check:
    name: str
    status: str  # one of STATUSES
    detail: str
    expected: object = None
    got: object = None

    def line(self) -> str:
        text = f"{self.status.upper():<5} {self.name}: {self.detail}"
        if self.status == "fail":
            text += f"\n      expected {self.expected}\n      got      {self.got}"
        return text


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every check that ran passed, 1 when one failed."""
        return 1 if self.count("fail") else 0

    def summary(self) -> str:
        return f"{self.count('pass')} checks passed, {self.count('fail')} failed, {self.count('skip')} skipped"

    def text(self) -> str:
        return "\n".join([*(c.line() for c in self.checks), self.summary()])

    def to_dict(self) -> dict:
        return {"ok": self.exit_code == 0, "summary": self.summary(), "checks": [asdict(c) for c in self.checks]}


def environment() -> Check:
    versions = ", ".join(f"{name} {version(name)}" for name in ("torch", "transformers", "gradio"))
    detail = f"Python {platform.python_version()}, {versions}; {measure.device_label(loading.pick_device())}"
    return Check("environment", "info", detail)


def int8_libraries() -> Check:
    """torchao's version and what it logged while loading (int8.py keeps it off the CLI's error lines)."""
    if not int8.installed():
        return Check("int8", "info", "torchao not installed: the int8 rungs are refused")
    said = "; ".join(int8.LOAD_MESSAGES) or "nothing"
    return Check("int8", "info", f"torchao {version('torchao')}; logged while loading: {said}")


def hub() -> Check:
    """Whether the hub answers, through huggingface_hub (its offline mode and the proxy settings apply)."""
    if loading.hub_offline():
        return Check("hub", "skip", "HF_HUB_OFFLINE is set: only the local Hugging Face cache is checked")
    import huggingface_hub

    try:
        huggingface_hub.model_info(registry.FILL_MASK.defaults["bert"], timeout=10)
    except Exception as err:  # noqa: BLE001 - any failure means the hub cannot be used now
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return Check("hub", "skip", f"unreachable ({first}): only the local Hugging Face cache is checked")
    return Check("hub", "pass", "reachable")


def _close(ours: list[float], theirs: list[float], tolerance: float) -> bool:
    return len(ours) == len(theirs) and all(abs(a - b) <= tolerance for a, b in zip(ours, theirs))


def _fill_mask(loaded: loading.LoadedModel) -> list[Check]:
    name = f"fill-mask {loaded.side} ({loaded.name})"
    prepared = inputs.prepare(FILL_MASK_TEXT, "fill-mask", loaded.tokenizer, loaded.device)
    ours = [(c.token, c.token_id, c.score) for c in predict.fill_mask(loaded, prepared, top_k=5).predictions[0]]
    text = FILL_MASK_TEXT.replace("[MASK]", loaded.tokenizer.mask_token)
    (theirs,) = reference.fill_mask(loaded.model, loaded.tokenizer, text, top_k=5)
    same = [c[1] for c in ours] == [r[1] for r in theirs] and _close(
        [c[2] for c in ours], [r[2] for r in theirs], PIPELINE_TOLERANCE
    )
    shown = [[(c[0], round(c[2], 6)) for c in found] for found in (theirs, ours)]
    checks = [_versus_pipeline(name, same, *shown)]
    published = PUBLISHED.get(loaded.name.split("/")[-1])
    if isinstance(published, list):
        got = [(token, round(score, 4)) for token, _, score in ours]
        ok = [t for t, _ in got] == [t for t, _ in published] and _close(
            [s for _, s in got], [s for _, s in published], PUBLISHED_TOLERANCE
        )
        detail = f'the model card\'s top 5 for "{FILL_MASK_TEXT}" (in order, scores within {PUBLISHED_TOLERANCE})'
        checks.append(Check(f"{name} published example", "pass" if ok else "fail", detail, published, got))
    return checks


def _versus_pipeline(name: str, same: bool, expected, got) -> Check:
    detail = f"predictions equal the independent reference (same answers, scores within {PIPELINE_TOLERANCE})"
    return Check(f"{name} vs reference", "pass" if same else "fail", detail, expected, got)


def _sentiment(loaded: loading.LoadedModel) -> list[Check]:
    name = f"sentiment {loaded.side} ({loaded.name})"
    prepared = inputs.prepare(SENTIMENT_TEXT, "sentiment", loaded.tokenizer, loaded.device)
    ours = [(p.label, p.score) for p in predict.sentiment(loaded, prepared).predictions]
    theirs = [
        (registry.normalise_label(loaded.name, label), score)
        for label, score in reference.sentiment(loaded.model, loaded.tokenizer, SENTIMENT_TEXT)
    ]
    same = [label for label, _ in ours] == [label for label, _ in theirs] and _close(
        [s for _, s in ours], [s for _, s in theirs], PIPELINE_TOLERANCE
    )
    checks = [_versus_pipeline(name, same, theirs, ours)]
    published = PUBLISHED.get(loaded.name.split("/")[-1])
    if isinstance(published, str):
        ok = ours[0][0] == published
        detail = f'the model card\'s label for "{SENTIMENT_TEXT}"'
        checks.append(Check(f"{name} published example", "pass" if ok else "fail", detail, published, ours[0][0]))
    return checks


def _qa(loaded: loading.LoadedModel) -> list[Check]:
    name = f"qa {loaded.side} ({loaded.name})"
    question, context = QA_EXAMPLE
    ours = [(a.text, a.start, a.end, round(a.score, 6)) for a in qa.answer_question(loaded, question, context, 3)]
    theirs = [
        (t, s, e, round(score, 6))
        for t, s, e, score in reference.qa_answers(loaded.model, loaded.tokenizer, question, context, top_k=3)
    ]
    same = [a[:3] for a in ours] == [a[:3] for a in theirs] and _close(
        [a[3] for a in ours], [a[3] for a in theirs], PIPELINE_TOLERANCE
    )
    return [_versus_pipeline(name, same, theirs, ours)]


MODEL_CHECKS: dict[str, Callable[[loading.LoadedModel], list[Check]]] = {
    "fill-mask": _fill_mask,
    "sentiment": _sentiment,
    "qa": _qa,
}


def model_checks(loaded: loading.LoadedModel) -> list[Check]:
    """Every check of one loaded checkpoint; an untrained twin has nothing to check."""
    if loaded.source == "twin":
        reason = f"an untrained twin stands in ({loaded.note or 'no weights'}): nothing to check"
        return [Check(f"{loaded.task} {loaded.side} ({loaded.name})", "skip", reason)]
    with measure.MACHINE:
        return MODEL_CHECKS[loaded.task](loaded)


def default_models(progress: Callable[[str], None] | None = None) -> Iterable[loading.LoadedModel | Check]:
    """Each default checkpoint loaded from the hub or the cache, or a skip saying why it could not be."""
    for task in registry.TASKS:
        for side in registry.SIDES:
            source = registry.resolve_source(task, side)
            if progress:
                progress(f"loading {source}")
            try:
                yield loading.load_model(task, side, allow_twin=False)
            except loading.LoadError as err:
                reason = str(err).removeprefix(f"could not load {source}: ")
                yield Check(f"{task} {side} ({source})", "skip", f"not checked: {reason}")


def run(models: Iterable[loading.LoadedModel | Check] | None = None, progress=None) -> Report:
    """The whole report; `models` defaults to loading every default checkpoint (no twins)."""
    report = Report([environment(), int8_libraries(), hub()])
    for item in default_models(progress) if models is None else models:
        report.checks += [item] if isinstance(item, Check) else model_checks(item)
    return report
