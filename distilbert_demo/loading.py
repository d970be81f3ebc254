"""Loading checkpoints: one path for hub ids and local folders, with twins as the fallback.

Every model goes through `transformers` Auto classes. Nothing runs remote code
(`trust_remote_code` is never set) and safetensors are preferred over pickles.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
import torch
import transformers
from transformers import AutoConfig, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from . import registry, twins

log = logging.getLogger(__name__)
# Loading and saving bars on stderr would garble the CLI's output and the server log.
transformers.utils.logging.disable_progress_bar()
huggingface_hub.utils.disable_progress_bars()

SOURCES = ("hub", "local", "twin")
HOW_TO_GET_REAL_WEIGHTS = (
    "To use real weights: run once with internet access (`python -m distilbert_demo prefetch` "
    "downloads the default checkpoints into the Hugging Face cache, after which "
    "`HF_HUB_OFFLINE=1` runs work offline), or point the app at local folders: "
    "`python app.py --bert DIR --distilbert DIR` (the task is read from the checkpoints), "
    "`--fill-mask-bert DIR` and the like per task, or the `DISTILBERT_DEMO_<TASK>_<SIDE>` environment variables."
)

# The task a checkpoint was trained for, from the head its config names (config.architectures).
_HEAD_TASKS = {"ForMaskedLM": "fill-mask", "ForSequenceClassification": "sentiment", "ForQuestionAnswering": "qa"}


class LoadError(RuntimeError):
    """A checkpoint could not be loaded; the message says why in one line."""


@dataclass
class LoadedModel:
    task: str
    side: str  # "bert" or "distilbert"
    name: str  # hub id or folder the weights came from (for a twin: the checkpoint it mimics)
    source: str  # one of SOURCES
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    note: str = ""  # why a twin stands in, when it does
    tried: str = ""  # the checkpoint that could not be loaded, when a twin stands in
    labels: list[str] = field(default_factory=list)  # normalised label per class id (sentiment)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def weights_bytes(self) -> int:
        """Exact bytes held by parameters and buffers (tied weights counted once)."""
        tensors = {id(t): t for t in (*self.model.parameters(), *self.model.buffers())}
        return sum(t.numel() * t.element_size() for t in tensors.values())

    @property
    def layers(self) -> int:
        config = self.model.config
        return getattr(config, "num_hidden_layers", None) or config.n_layers


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


_reachable: bool | None = None


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP probe of the hub, remembered for the process.

    Without it, transformers retries an unreachable hub for ~25 s per file before giving up.
    """
    global _reachable
    if hub_offline():
        return False
    if _reachable is None:
        endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        try:
            socket.create_connection((endpoint.hostname, port), timeout=timeout).close()
            _reachable = True
        except OSError:
            _reachable = False
    return _reachable


def pick_device() -> torch.device:
    wanted = os.environ.get("DISTILBERT_DEMO_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _from_pretrained(source: str, auto_class_name: str, local_only: bool):
    auto_class = getattr(transformers, auto_class_name)
    kwargs = {"local_files_only": local_only}
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = auto_class.from_pretrained(source, **kwargs)
    return model, tokenizer


def _load_real(source: str, auto_class_name: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    if Path(source).expanduser().is_dir():
        model, tokenizer = _from_pretrained(str(Path(source).expanduser()), auto_class_name, local_only=True)
        return model, tokenizer, "local"
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise LoadError(f"folder {source!r} does not exist")
    try:  # the cache first: works offline and starts fastest
        model, tokenizer = _from_pretrained(source, auto_class_name, local_only=True)
    except (OSError, ValueError) as cache_miss:
        if not hub_reachable():
            reason = "HF_HUB_OFFLINE is set" if hub_offline() else "the Hugging Face hub is unreachable"
            raise LoadError(f"{source} is not in the local cache and {reason}") from cache_miss
        model, tokenizer = _from_pretrained(source, auto_class_name, local_only=False)
    return model, tokenizer, "hub"


def load_model(
    task: str,
    side: str,
    override: str | None = None,
    *,
    allow_twin: bool = True,
    device: torch.device | None = None,
) -> LoadedModel:
    """Load one side of a task's pair; fall back to the architecture twin if allowed."""
    spec = registry.TASKS[task]
    source = registry.resolve_source(task, side, override)
    note = tried = ""
    try:
        model, tokenizer, kind = _load_real(source, spec.auto_class)
        name = source
    except Exception as err:  # noqa: BLE001 - any failure to load is reported, not raised
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        twin_of = source if twins.has_twin(source) else spec.defaults[side]
        if not allow_twin:
            raise LoadError(f"could not load {source}: {reason}") from err
        log.warning("could not load %s (%s); using an untrained twin of %s", source, reason, twin_of)
        model = twins.build_twin(twin_of, spec.auto_class)
        # The cased QA checkpoint's twin keeps case, as its real tokenizer does.
        lowercase = "-cased" not in twin_of
        tokenizer = twins.twin_tokenizer(model.config.model_type, model.config.vocab_size, lowercase=lowercase)
        name, kind = twin_of, "twin"
        note = reason if source in reason else f"could not load {source}: {reason}"
        tried = source
    model.eval().to(device or pick_device())
    labels = []
    if task == "sentiment":
        id2label = model.config.id2label
        labels = [registry.normalise_label(name, id2label[i]) for i in range(len(id2label))]
    return LoadedModel(task, side, name, kind, model, tokenizer, note=note, tried=tried, labels=labels)


def task_of(source: str) -> str:
    """The task a checkpoint (folder or hub id) was trained for, read from its config's head.

    Raises LoadError when the config cannot be read or names no head this app knows.
    """
    folder = Path(source).expanduser()
    try:
        config = AutoConfig.from_pretrained(
            str(folder) if folder.is_dir() else source, local_files_only=folder.is_dir() or not hub_reachable()
        )
    except (OSError, ValueError) as err:
        raise LoadError(f"could not read the config of {source} to tell its task: {err}") from err
    for architecture in config.architectures or []:
        for head, task in _HEAD_TASKS.items():
            if architecture.endswith(head):
                return task
    raise LoadError(
        f"{source} has no masked-LM, sequence-classification or question-answering head "
        f"(its config names {config.architectures}); name the task with --fill-mask-bert and the like"
    )


@dataclass
class Pair:
    task: str
    bert: LoadedModel
    distilbert: LoadedModel

    def sides(self) -> tuple[LoadedModel, LoadedModel]:
        return self.bert, self.distilbert

    @property
    def uses_twins(self) -> bool:
        return any(m.source == "twin" for m in self.sides())


class ModelStore:
    """Loads each task's pair once and hands the same objects to every request.

    One lock per task: a pair still loading (say in the background after start) never holds up
    requests for a pair that is ready.
    """

    def __init__(self, overrides: dict[tuple[str, str], str] | None = None, *, allow_twin: bool = True):
        self.overrides = overrides or {}
        self.allow_twin = allow_twin
        self.device = pick_device()
        self._pairs: dict[str, Pair] = {}
        self.failures: dict[str, str] = {}  # task -> why its pair could not be loaded
        self._new_locks()
        os.register_at_fork(after_in_child=self._new_locks)  # see measure.FairLock

    def _new_locks(self) -> None:
        self._locks = {task: threading.Lock() for task in registry.TASKS}

    def pair(self, task: str, student: LoadedModel | None = None) -> Pair:
        """The task's pair; with `student` (a visitor's distilled model), that student stands in as
        the DistilBERT side of fill-mask."""
        if student is not None and task == "fill-mask":
            return Pair(task, self.pair(task).bert, student)
        with self._locks[task]:
            if task not in self._pairs:
                loaded = {
                    side: load_model(
                        task,
                        side,
                        self.overrides.get((task, side)),
                        allow_twin=self.allow_twin,
                        device=self.device,
                    )
                    for side in registry.SIDES
                }
                self._pairs[task] = Pair(task, **loaded)
            return self._pairs[task]

    def config(self, task: str, side: str):
        """The architecture of one side without loading its weights (to lay the page out while
        the weights load): the checkpoint's config.json from a folder or the cache, else its twin's."""
        spec = registry.TASKS[task]
        source = registry.resolve_source(task, side, self.overrides.get((task, side)))
        try:
            if Path(source).expanduser().is_dir():
                return AutoConfig.from_pretrained(str(Path(source).expanduser()), local_files_only=True)
            return AutoConfig.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError):
            twin = source if twins.has_twin(source) else spec.defaults[side]
            return AutoConfig.from_pretrained(twins.twin_config_dir(twin))

    def loaded_pairs(self) -> list[Pair]:
        return [self._pairs[task] for task in registry.TASKS if task in self._pairs]

    def settled(self) -> bool:
        """Every pair has loaded or failed: the banner has nothing more to wait for."""
        return all(task in self._pairs or task in self.failures for task in registry.TASKS)

    def load(self, tasks: list[str]) -> None:
        """Load `tasks` now. A pair that cannot load is recorded in `failures` (the banner says why)
        instead of stopping the others."""
        for task in tasks:
            try:
                self.pair(task)
            except Exception as err:  # noqa: BLE001 - one pair's failure must not stop the others
                self.failures[task] = (str(err).strip().splitlines() or [type(err).__name__])[0]
                log.error("the %s pair could not be loaded: %s", task, self.failures[task])

    def load_in_background(self, tasks: list[str]) -> threading.Thread:
        """Start loading `tasks` now; a request for one of them waits until it is ready."""
        thread = threading.Thread(target=self.load, args=(tasks,), daemon=True, name="loader")
        thread.start()
        return thread
