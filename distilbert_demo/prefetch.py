"""Download the default checkpoints into the Hugging Face cache, for offline use later."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, snapshot_download

from . import registry

# Config, tokenizer and vocabulary files every checkpoint needs besides its weights.
_SUPPORT_FILES = ["*.json", "*.txt", "*.model"]


def checkpoints_to_fetch(overrides: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Hub ids of every configured side of every task (local folders need no download)."""
    ids = []
    for task in registry.TASKS:
        for side in registry.SIDES:
            source = registry.resolve_source(task, side, (overrides or {}).get((task, side)))
            if not Path(source).expanduser().exists() and source not in ids:
                ids.append(source)
    return ids


def fetch(repo_id: str) -> str:
    """Download one checkpoint (safetensors weights when the repo has them) and return its folder."""
    files = HfApi().list_repo_files(repo_id)
    weights = ["*.safetensors"] if any(f.endswith(".safetensors") for f in files) else ["pytorch_model.bin"]
    return snapshot_download(repo_id, allow_patterns=_SUPPORT_FILES + weights)
