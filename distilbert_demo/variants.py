"""The ways one checkpoint can run on a CPU, behind one interface: precisions and runtimes.

    fp32            the loaded model (the reference every other variant is checked against)
    bf16            bf16 weights (`model.to(torch.bfloat16)`); fast only with bf16 matrix units
    bf16-compiled   the bf16 model compiled ahead of time by AOTInductor with freezing (built once, kept on disk)
    int8            int8 Linear layers through torchao, eager (int8.py)
    int8-compiled   torchao's static int8 (PT2E, x86 quantizer, calibrated) compiled the same way (int8.py)
    onnx-fp32       the model exported with torch.onnx.export (dynamo), run by ONNX Runtime
    onnx-int8       that export, dynamically quantised by ONNX Runtime's quantiser

Every variant runs on the CPU (the question it answers is what a CPU deployment can do), takes the
tokenizer's named tensors and returns float32 logits. A variant this machine cannot run is refused
with its reason (VariantUnavailable), never silently replaced by another one.

What takes minutes to build is kept on disk under the cache folder, one folder per checkpoint and
weights: the ONNX files, and the compiled rungs as AOTInductor packages (.pt2). torch.compile would
build them again after every restart: with freezing on, inductor's own cache bypasses the graph
(`fxgraph_cache_bypass`; python -m benchmarks.compile_restart). A package holds C++ compiled for
this CPU (-march=native) against this torch, so its name carries both (machine_key).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import io
import itertools
import logging
import platform
import re
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import gpu, int8, resources
from .inputs import InputError
from .loading import LoadedModel

log = logging.getLogger(__name__)

VARIANTS = ("fp32", "bf16", "bf16-compiled", "int8", "int8-compiled", "onnx-fp32", "onnx-int8")
# What building each variant does, as the ladder's progress line says it while it waits.
BUILDING = {
    "fp32": "the loaded model",
    "bf16": "casting the weights to bf16",
    "bf16-compiled": "compiling the bf16 model ahead of time with AOTInductor (once per machine: kept on disk)",
    "int8": "quantising the Linear layers to int8 with torchao",
    "int8-compiled": "calibrating int8 (torchao PT2E), compiling it with AOTInductor (once per machine: kept on disk)",
    "onnx-fp32": "exporting to ONNX (kept on disk for later runs)",
    "onnx-int8": "quantising the ONNX export to int8 (kept on disk for later runs)",
}
EXACT = ("fp32", "onnx-fp32")  # meant to give fp32's logits (within EXACT_TOLERANCE); the rest are lossy
EXACT_TOLERANCE = 1e-4
ONNX = ("onnx-fp32", "onnx-int8")
# The rungs compiled ahead of time, and how (the ladder's note on each)
COMPILED = {
    "bf16-compiled": "AOTInductor package (freezing, dynamic shapes)",
    "int8-compiled": "torchao PT2E, X86InductorQuantizer (static, calibrated on the shipped examples), "
    "AOTInductor package",
}
CPU = torch.device("cpu")


class VariantUnavailable(InputError):
    """This machine cannot run the variant; the message says why."""


@dataclass
class Variant:
    """One checkpoint in one variant, ready to run."""

    name: str  # one of VARIANTS
    checkpoint: str
    forward: Callable[[dict[str, torch.Tensor]], torch.Tensor]  # named CPU tensors -> float32 logits
    size_bytes: int  # the weights as saved to disk in this variant
    build_s: float  # copy / quantise / export / compile time
    module: torch.nn.Module | None = None  # the PyTorch module (None for ONNX Runtime)
    files: list[Path] = field(default_factory=list)  # what it runs from on disk (ONNX files, packages)
    note: str = ""
    kept: bool = False  # loaded from what an earlier run kept on disk (a compiled package), not built now


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@functools.cache
def _bf16_runs() -> tuple[bool, str]:
    """Whether this CPU runs bf16 matrix products at all (speed is measured, never assumed)."""
    try:
        a = torch.ones(4, 4, dtype=torch.bfloat16)
        (a @ a).sum().item()
    except RuntimeError as err:
        return False, f"this CPU cannot run bf16 matrix products ({err})"
    return True, ""


def _why_not_compiled() -> str:
    if gpu.ZERO_GPU:
        return "not on ZeroGPU (it allows ahead-of-time compiling for its GPU calls; this CPU build is unchecked there)"
    if not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        return "the compiled rungs need a C++ compiler (AOTInductor writes C++) and none was found"
    return ""


def _why_not_onnx() -> str:
    missing = [m for m in ("onnxruntime", "onnxscript", "onnx") if not _has_module(m)]
    return f"{', '.join(missing)} not installed (pip install {' '.join(missing)})" if missing else ""


_WHY_NOT = {
    "fp32": lambda: "",
    "bf16": lambda: _bf16_runs()[1],
    "bf16-compiled": lambda: _why_not_compiled() or _bf16_runs()[1],
    "int8": int8.why_not_eager,
    "int8-compiled": lambda: int8.why_not_compiled() or _why_not_compiled(),
    "onnx-fp32": _why_not_onnx,
    "onnx-int8": _why_not_onnx,
}


def availability(name: str) -> tuple[bool, str]:
    """Whether this machine can run the variant, and if not, why (shown as is)."""
    if name not in VARIANTS:
        return False, f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}"
    why = _WHY_NOT[name]()
    return not why, why


def check(name: str) -> None:
    available, why = availability(name)
    if not available:
        raise VariantUnavailable(f"{name}: {why}")


QA_IN_FP32 = "variants cover fill-mask and sentiment; question answering runs in fp32."
ZERO_GPU_REFUSAL = "on ZeroGPU the comparison runs on the GPU; the CPU variants are in the Ladder tab."


def check_choice(task: str, side: str, name: str, on_zero_gpu: bool = False) -> None:
    """Whether `side` of the `task` pair can run as `name` here: an InputError that says why not,
    for the control `{side}_variant` (the Compare tab and the CLI refuse alike)."""
    field = f"{side}_variant"
    if name not in VARIANTS:
        raise InputError(f"unknown variant {name!r} for {side}; choose from {', '.join(VARIANTS)}.", field=field)
    if name == "fp32":
        return
    if on_zero_gpu:
        raise InputError(ZERO_GPU_REFUSAL, field=field)
    if task == "qa":
        raise InputError(QA_IN_FP32, field=field)
    available, why = availability(name)
    if not available:
        raise InputError(f"{name} is unavailable here: {why}", field=field)


def _state_bytes(module: torch.nn.Module) -> int:
    """The size of the module's weights as torch.save writes them (packed int8 included)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def _torch_forward(module: torch.nn.Module) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    def forward(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            return module(**inputs).logits.float()

    return forward


def weights_fingerprint(model: torch.nn.Module) -> str:
    """A digest of every parameter and buffer (names, shapes, dtypes, bytes): an export kept under it
    belongs to exactly these weights, so a changed checkpoint of the same name is exported anew."""
    digest = hashlib.blake2b(digest_size=8)
    for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().to(CPU).contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def cache_folder(loaded: LoadedModel, cache: Path) -> Path:
    """Where a checkpoint's ONNX files are kept: one folder per task, side, checkpoint and weights
    (touched on use, so the least recently used go first when the cache is pruned)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{loaded.task}-{loaded.side}-{loaded.name}").strip("_")[:100]
    folder = cache / f"{slug or 'model'}-{weights_fingerprint(loaded.model)}"
    if folder.is_dir():
        folder.touch()
    return folder


class _Logits(torch.nn.Module):
    """Named tensors in, logits out: the graph ONNX Runtime is fed (segment ids only for BERT).
    A question-answering head returns its two rows of logits, start then end."""

    def __init__(self, model: torch.nn.Module, outputs: tuple[str, ...] = ("logits",)):
        super().__init__()
        self.model = model
        self.outputs = outputs

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        named = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            named["token_type_ids"] = token_type_ids
        out = self.model(**named)
        if len(self.outputs) == 1:
            return out[self.outputs[0]]
        return tuple(out[name] for name in self.outputs)


def output_names(loaded: LoadedModel) -> tuple[str, ...]:
    """The exported graph's outputs, named as transformers' own model outputs (what transformers.js
    reads from an ONNX session)."""
    return ("start_logits", "end_logits") if loaded.task == "qa" else ("logits",)


def _example_inputs(loaded: LoadedModel) -> dict[str, torch.Tensor]:
    encoded = loaded.tokenizer(
        ["a short example", "and a second, longer example sentence"], padding=True, return_tensors="pt"
    )
    return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def _exportable(loaded: LoadedModel) -> tuple[torch.nn.Module, dict[str, torch.Tensor], dict]:
    """An fp32 copy in eval mode (dropout left on mismatches by ~2 logits) that takes named tensors and
    returns logits, an example, and batch and sequence length dynamic: what torch.export is given,
    for ONNX and for torchao's PT2E flow alike."""
    model = _Logits(copy.deepcopy(loaded.model).to(CPU).float().eval(), output_names(loaded)).eval()
    example = _example_inputs(loaded)
    batch, seq = torch.export.Dim("batch", min=1, max=1024), torch.export.Dim("seq", min=2, max=512)
    return model, example, {name: {0: batch, 1: seq} for name in example}


def export_onnx(loaded: LoadedModel, folder: Path) -> Path:
    """Export the model with the dynamo exporter, inputs by name; cached per checkpoint in `folder`."""
    path = folder / "model.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    model, example, dynamic = _exportable(loaded)
    partial = folder / "partial.onnx"
    with torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(
            model,
            args=(),
            kwargs=example,
            dynamo=True,
            dynamic_shapes=dynamic,
            input_names=list(example),
            output_names=list(output_names(loaded)),
            verbose=False,
        )
        program.save(str(partial), external_data=False)
    partial.replace(path)  # a half-written file is never taken for a cached export
    return path


def calibration_inputs(loaded: LoadedModel) -> list[dict[str, torch.Tensor]]:
    """The task's shipped examples one by one, then as one padded batch: what sets a static int8
    variant's activation ranges (never the labelled set it is scored on)."""
    texts = [t for t in resources.examples()[loaded.task] if isinstance(t, str)]
    keys = ("input_ids", "attention_mask", "token_type_ids")
    single = [{k: v for k, v in loaded.tokenizer(t, return_tensors="pt").items() if k in keys} for t in texts]
    padded = loaded.tokenizer(texts, padding=True, return_tensors="pt")
    return [*single, {k: v for k, v in padded.items() if k in keys}]


def quantize_onnx(source: Path) -> Path:
    """ONNX Runtime's dynamic int8 quantisation of an exported model (weights int8, activations
    quantised on the fly), cached next to it."""
    target = source.with_name("model-int8.onnx")
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # ONNX Runtime's recommended first step: shape inference and graph optimisation before quantising
    # (its symbolic shape pass fails on dynamo-exported graphs and is skipped).
    prepared, partial = source.with_name("prepared.onnx"), source.with_name("partial-int8.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(str(prepared), str(partial), weight_type=QuantType.QInt8)
    prepared.unlink()
    partial.replace(target)
    return target


def ort_session(path: Path):
    """An ONNX Runtime session with as many threads as torch uses: two engines spinning their own
    thread pools on two cores slow each other down."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting between runs: a spinning ONNX Runtime pool takes the cores from whatever runs
    # next (PyTorch, in the ladder's interleaved timing), which then looks slower than it is.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ort_forward(session) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    wanted = {i.name for i in session.get_inputs()}

    def forward(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        feed = {k: v.cpu().numpy() for k, v in inputs.items() if k in wanted}
        return torch.from_numpy(session.run(["logits"], feed)[0]).float()

    return forward


@functools.cache
def machine_key() -> str:
    """What a compiled package is tied to: inductor builds its C++ for this CPU (-march=native)
    against this torch, so a package made elsewhere (a Space restarted on other hardware) is
    never loaded here."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = "|".join(dict.fromkeys(line for line in lines if line.startswith(("model name", "flags"))))
    text = f"{torch.__version__}|{platform.machine()}|{cpu}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


FREEZING = {"freezing": True}  # weights folded in as constants: what lets inductor prepack them for oneDNN


def compiled_package(loaded: LoadedModel, name: str, cache: Path) -> tuple[Path, bool]:
    """(the AOTInductor package of compiled rung `name`, whether it was built now): exported from the
    fp32 copy (bf16: cast first; int8: through torchao's PT2E flow), compiled with freezing (weights
    folded into the graph as constants, what lets inductor prepack them), batch and length dynamic
    so one package serves every input. Kept in the checkpoint's cache folder; written under
    another name first, so a half-written package is never taken for a built one."""
    folder = cache_folder(loaded, cache)
    path = folder / f"{name}-{machine_key()}.pt2"
    if path.is_file():
        return path, False
    folder.mkdir(parents=True, exist_ok=True)
    module, example, dynamic = _exportable(loaded)
    if name == "bf16-compiled":
        with torch.inference_mode(False), torch.no_grad():
            program = torch.export.export(module.to(torch.bfloat16), args=(), kwargs=example, dynamic_shapes=dynamic)
    else:
        program = int8.static_program(module, example, dynamic, calibration_inputs(loaded))
    partial = folder / f"partial-{name}.pt2"
    # under no_grad, or freezing does not run and the int8 patterns silently stay in float (pytorch/ao#4566)
    with torch.no_grad():
        torch._inductor.aoti_compile_and_package(program, package_path=str(partial), inductor_configs=FREEZING)
    partial.replace(path)
    return path, True


def _package_forward(path: Path) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    runner = torch._inductor.aoti_load_package(str(path))

    def forward(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            return runner(**inputs).float()

    return forward


def build(loaded: LoadedModel, name: str, cache: Path, warm: dict[str, torch.Tensor] | None = None) -> Variant:
    """`loaded` in variant `name`, on the CPU. ONNX files are cached under `cache`/<checkpoint>/;
    the compiled rungs' packages too (compiled_package), and called once here (on `warm`, or a short
    example) so that their set-up is counted in build_s, not in their latency."""
    check(name)
    started = time.perf_counter()
    fp32 = loaded.model if loaded.device.type == "cpu" else copy.deepcopy(loaded.model).to(CPU)
    fp32.eval()
    checkpoint = loaded.name
    if name == "fp32":
        return Variant(name, checkpoint, _torch_forward(fp32), _state_bytes(fp32), 0.0, module=fp32)
    if name == "bf16":
        half = copy.deepcopy(fp32).to(torch.bfloat16)
        size = _state_bytes(half)
        return Variant(name, checkpoint, _torch_forward(half), size, time.perf_counter() - started, module=half)
    if name in COMPILED:
        path, built = compiled_package(loaded, name, cache)
        forward = _package_forward(path)
        forward(warm if warm is not None else _example_inputs(loaded))  # the first call's set-up, in build_s
        return Variant(
            name,
            checkpoint,
            forward,
            path.stat().st_size,
            time.perf_counter() - started,
            files=[path],
            note=COMPILED[name],
            kept=not built,
        )
    if name == "int8":
        quantised = int8.eager(fp32)
        return Variant(
            name,
            checkpoint,
            _torch_forward(quantised),
            _state_bytes(quantised),
            time.perf_counter() - started,
            module=quantised,
            note="torchao Int8DynamicActivationInt8WeightConfig (eager)",
        )
    path = export_onnx(loaded, cache_folder(loaded, cache))
    if name == "onnx-int8":
        path = quantize_onnx(path)
    session = ort_session(path)
    note = "ONNX Runtime (attention maps stay on the PyTorch model)"
    return Variant(
        name,
        checkpoint,
        _ort_forward(session),
        path.stat().st_size,
        time.perf_counter() - started,
        files=[path],
        note=note,
    )


# Variants as stand-ins for the loaded model (the Compare tab runs "BERT fp32 vs DistilBERT int8")


class _Runner:
    """What the comparison calls a model: config, eval(), and a call that returns `.logits` (for
    variants without a PyTorch module of their own to call: ONNX Runtime, the compiled graph)."""

    def __init__(self, variant: Variant, config):
        self.variant, self.config = variant, config

    def eval(self):
        return self

    def __call__(self, **inputs):
        return _Output(self.variant.forward(inputs))


@dataclass
class _Output:
    logits: torch.Tensor


@dataclass
class VariantModel(LoadedModel):
    """A loaded model running as one of VARIANTS: same checkpoint, tokenizer and labels."""

    variant: str = "fp32"
    reference_params: int = 0
    size_bytes: int = 0

    @property
    def device(self) -> torch.device:
        return CPU

    @property
    def params(self) -> int:
        return self.reference_params  # quantised weights are packed, not parameters: count the original's

    @property
    def weights_bytes(self) -> int:
        return self.size_bytes  # as saved to disk in this variant


MAX_KEPT = 12  # built variants kept for reuse (one task's six variants of both models)


class Kept:
    """Variants built once and reused (the Compare tab and the ladder share them), the oldest
    dropped past MAX_KEPT; one build at a time."""

    def __init__(self):
        self._built: dict[tuple, tuple[weakref.ref, Variant]] = {}
        self._lock = threading.Lock()

    def get(self, loaded: LoadedModel, name: str, cache: Path) -> Variant:
        key = (loaded.task, loaded.side, loaded.name, id(loaded.model), name)
        with self._lock:
            source, variant = self._built.get(key, (None, None))
            if source is None or source() is not loaded.model:  # a freed model's id can come back: check it is ours
                variant = build(loaded, name, cache)
                self._built[key] = (weakref.ref(loaded.model), variant)
                while len(self._built) > MAX_KEPT:
                    self._built.pop(next(iter(self._built)))
            return variant


KEPT = Kept()


def costs(chosen: dict[str, str]) -> list[str]:
    """What a page must say next to a lossy variant's speed: that it costs accuracy, and where that is measured."""
    titles = {"bert": "BERT", "distilbert": "DistilBERT"}
    return [
        f"{titles[side]} runs as {name}, a lossy variant: the accuracy it keeps (and its agreement with fp32) "
        "is measured in the Ladder tab."
        for side, name in chosen.items()
        if name not in EXACT
    ]


def as_variant(loaded: LoadedModel, name: str, cache: Path) -> LoadedModel:
    """`loaded` running as variant `name` (fp32: `loaded` itself). PyTorch variants keep their module,
    so the comparison runs its own path on them (the vocabulary projection at the masks only);
    ONNX Runtime and the compiled graph run the whole model, projection at every position included."""
    if name == "fp32":
        return loaded
    if loaded.task == "qa":
        raise InputError(QA_IN_FP32, field="variant")
    variant = KEPT.get(loaded, name, cache)
    model = variant.module if variant.module is not None else _Runner(variant, loaded.model.config)
    return VariantModel(
        loaded.task,
        loaded.side,
        f"{loaded.name} ({name})",
        loaded.source,
        model,
        loaded.tokenizer,
        loaded.note,
        loaded.tried,
        list(loaded.labels),
        variant=name,
        reference_params=loaded.params,
        size_bytes=variant.size_bytes,
    )
