"""`distilbert-demo web-space OUT`: the folder a Static Space is pushed from.

The page's files as they are in web/, its README.md (the Space's front matter: sdk static, the build
step, the cross-origin isolation headers), the lock file, and site.json written for the hub: each
task and side names a public repository in transformers.js' layout. On the Space, the build step
(`npm ci`, then build.mjs) copies transformers.js and ONNX Runtime Web's files from the lock file's
packages next to the page, so the visitor's browser gets them from the Space itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import site

SPACE_FILES = ("README.md", "package.json", "package-lock.json", "build.mjs", "vendor.json")


def _with_models(readme: str, repos: list[str]) -> str:
    head, rest = readme.split("models:\n", 1)
    rest = rest[rest.index("tags:") :]
    return head + "models:\n" + "".join(f"  - {repo}\n" for repo in dict.fromkeys(repos)) + rest


def write_space(out: Path, repos: dict[tuple[str, str], str | None]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [Path(shutil.copy2(site.WEB / name, out / name)) for name in (*site.vendor()["page"], *SPACE_FILES)]
    readme = out / "README.md"  # the front matter's models: the repositories this site.json names
    readme.write_text(_with_models(readme.read_text("utf-8"), [r for r in repos.values() if r]), "utf-8")
    config = site.site_config(site.hub_models(repos), local=False)
    target = out / "site.json"
    target.write_text(json.dumps(config, indent=1), "utf-8")
    written.append(target)
    return written
