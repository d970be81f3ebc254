"""The int8 paths of the ladder (variants.py), both through torchao, chosen by measurement
(python -m benchmarks.int8_paths; README, "The compression ladder"):

    int8            torchao's Int8DynamicActivationInt8WeightConfig through `quantize_`, eager: per-channel
                    int8 weights, per-token int8 activations; no compiler needed
    int8-compiled   torchao's PT2E flow for x86: torch.export, X86InductorQuantizer (static: activation
                    ranges calibrated on the task's shipped examples), convert_pt2e, then AOTInductor
                    with freezing, which lowers the quantised patterns to oneDNN's int8 kernels

PyTorch's torch.ao.quantization (the eager dynamic path this replaced) is deprecated; nothing here
calls it.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import platform
import sys
import traceback
from collections.abc import Iterable

import torch

# While torchao loads it logs through two loggers: its own (its CUDA kernels fail to load on a CPU
# build of torch) and torch's pytree (each of its Enum classes registered with a call torch
# deprecates; some load only when transformers reaches for them). The messages are true but not
# ours to act on, and printed they land on the CLI's one-line errors (transformers imports torchao
# whenever it is installed). They are kept in LOAD_MESSAGES, which `distilbert-demo doctor`
# prints, instead of stderr: torchao's own logger while it is imported, and a pytree record only
# when torchao's code is the caller. Everything else is left as it was.
LOAD_MESSAGES: list[str] = []


def _keep(record: logging.LogRecord) -> None:
    LOAD_MESSAGES.append(f"{record.name}: {record.getMessage()}")


class _Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _keep(record)


class _KeepTorchaos(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if any(f"{os.sep}torchao{os.sep}" in frame.filename for frame in traceback.extract_stack()):
            _keep(record)
            return False
        return True


def installed() -> bool:
    return importlib.util.find_spec("torchao") is not None


def import_torchao() -> None:
    """Import torchao once (the package does it first, before transformers can), keeping what it
    logs while it loads in LOAD_MESSAGES."""
    if not installed() or "torchao" in sys.modules:
        return
    logging.getLogger("torch.utils._pytree").addFilter(_KeepTorchaos())
    own = logging.getLogger("torchao")
    kept, propagate = _Keep(), own.propagate
    own.addHandler(kept)
    own.propagate = False
    try:
        import torchao.quantization  # noqa: F401
    finally:
        own.removeHandler(kept)
        own.propagate = propagate


def why_not_eager() -> str:
    return "" if installed() else "torchao is not installed (pip install torchao)"


def why_not_compiled() -> str:
    """The compiled path's own needs (the compiler and ZeroGPU are variants.py's checks)."""
    if not installed():
        return "torchao is not installed (pip install torchao)"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"torchao's X86InductorQuantizer needs an x86 CPU (this one is {platform.machine()})"
    return ""


def eager(model: torch.nn.Module) -> torch.nn.Module:
    """An int8 copy of `model`: every Linear's weight per-channel int8, activations per-token int8 on the fly."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    copied = copy.deepcopy(model).eval()
    # set_inductor_config=False: the config would retune inductor globally, the bf16-compiled rung included
    quantize_(copied, Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))
    return copied


def static_program(
    module: torch.nn.Module,
    example: dict[str, torch.Tensor],
    dynamic_shapes: dict,
    calibration: Iterable[dict[str, torch.Tensor]],
) -> torch.export.ExportedProgram:
    """torchao's PT2E static flow for x86, exported again for AOTInductor (variants.compiled_package):
    `module` (a copy the caller gives up) takes the named tensors of `example` as keyword arguments;
    `calibration` sets the activation ranges. The graph computes the quantisation in float
    (quantize/dequantize around float products) until inductor, with freezing, lowers those
    patterns to oneDNN's int8 kernels."""
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    with torch.inference_mode(False), torch.no_grad():
        # `module` is the caller's own copy (variants._exportable makes one): not copied again
        exported = torch.export.export(module.eval(), args=(), kwargs=example, dynamic_shapes=dynamic_shapes).module()
        quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
        prepared = prepare_pt2e(exported, quantizer)
        for batch in calibration:
            prepared(**batch)
        converted = convert_pt2e(prepared)
        move_exported_model_to_eval(converted)
        return torch.export.export(converted, args=(), kwargs=example, dynamic_shapes=dynamic_shapes)
