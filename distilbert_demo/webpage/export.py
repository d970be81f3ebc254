"""export-web: one checkpoint in the layout transformers.js loads from a folder or a hub repository.

    OUT/config.json                 the model's config (sentiment labels normalised, as the app shows them)
    OUT/tokenizer.json              the fast tokenizer (transformers.js reads this one)
    OUT/tokenizer_config.json
    OUT/onnx/model.onnx             fp32, exported as the ladder's onnx-fp32 rung is
    OUT/onnx/model_quantized.onnx   8-bit (transformers.js' dtype "q8"): the ladder's onnx-int8 rung,
                                    ONNX Runtime's dynamic quantisation of that export

The ONNX files are the ladder's own (variants.export_onnx / quantize_onnx), so the page's 8-bit
model is the one the app's ONNX int8 variant scores.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import registry, variants
from ..loading import LoadedModel

FP32, QUANTIZED = "onnx/model.onnx", "onnx/model_quantized.onnx"
STAMP = "exported-from.json"  # which checkpoint a folder holds: `distilbert-demo web --models DIR` reuses it
LAYOUT = ("config.json", "tokenizer.json", "tokenizer_config.json", FP32, QUANTIZED)


@dataclass
class Exported:
    folder: Path
    files: dict[str, int]  # relative path -> bytes, for every file of LAYOUT

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "files": self.files}


def _web_config(loaded: LoadedModel):
    config = copy.deepcopy(loaded.model.config)
    if loaded.task == "sentiment":  # the page shows the labels as the app does: negative / positive
        config.id2label = dict(enumerate(loaded.labels))
        config.label2id = {label: i for i, label in enumerate(loaded.labels)}
    return config


def export_web(loaded: LoadedModel, out: Path) -> Exported:
    """Write `loaded` into `out` in transformers.js' layout; files already there are replaced.

    Built in a temp folder next to `out` and moved in at the end, so an interrupted export never
    leaves a folder that looks complete."""
    if not loaded.tokenizer.is_fast:
        raise ValueError(f"{loaded.name}: transformers.js needs tokenizer.json, which only a fast tokenizer writes")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-web-", dir=out.parent) as scratch:
        work = Path(scratch)
        _web_config(loaded).save_pretrained(work)
        loaded.tokenizer.save_pretrained(work)
        fp32 = variants.export_onnx(loaded, work / "onnx")
        quantized = variants.quantize_onnx(fp32)
        quantized.replace(work / QUANTIZED)
        (work / STAMP).write_text(json.dumps(_origin(loaded)), "utf-8")
        missing = [name for name in LAYOUT if not (work / name).is_file()]
        if missing:
            raise RuntimeError(f"export-web wrote no {', '.join(missing)}")
        out.mkdir(exist_ok=True)
        (out / "onnx").mkdir(exist_ok=True)
        for path in sorted(work.rglob("*")):
            if path.is_file():
                target = out / path.relative_to(work)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), target)
    return Exported(out, {name: (out / name).stat().st_size for name in LAYOUT})


def _origin(loaded: LoadedModel) -> dict:
    return {"name": loaded.name, "source": loaded.source, "task": loaded.task}


def holds(folder: Path, loaded: LoadedModel) -> bool:
    """`folder` is a complete export of `loaded`'s checkpoint (so it need not be exported again)."""
    stamp = folder / STAMP
    complete = all((folder / name).is_file() for name in LAYOUT)
    return complete and stamp.is_file() and json.loads(stamp.read_text("utf-8")) == _origin(loaded)


def folder_name(task: str, side: str) -> str:
    """The folder one side of a task is exported to under the page's models/ (what web/config.json names)."""
    registry.check_task(task)
    return f"{task}-{side}"
