"""Nobody in where they don't belong: files, uploads, checkpoints that try to run code, and what
a visitor can ask the server to load. Plus partial failure: one broken checkpoint, a working app."""

import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from gradio_client import Client

from distilbert_demo import loading

from .test_cli import ROOT


def http_status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except urllib.error.URLError:  # not listening yet
        return 0


def test_files_outside_the_app_cannot_be_read(launched_app):
    for path in ("/etc/passwd", str(ROOT / "app.py"), "../../etc/passwd"):
        status = http_status(f"{launched_app}gradio_api/file={path}")
        assert status in (403, 404), f"{path} answered {status}"


def test_uploads_over_the_limit_are_refused(launched_app):
    boundary = "xxBOUNDARYxx"
    big = b"a" * (3 * 2**20)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status = http_status(
        f"{launched_app}gradio_api/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 413


def test_visitors_choose_tasks_never_repositories(launched_app):
    api = Client(launched_app, verbose=False).view_api(print_info=False, return_format="dict")
    named = api["named_endpoints"]
    endpoints = {
        "/compare",
        "/attention",
        "/explain",
        "/distill",
        "/race",
        "/evaluate",
        "/bench",
        "/ladder",
        "/self_check",
    }
    assert set(named) == endpoints
    assert named["/self_check"]["parameters"] == []  # checks what the server loaded, nothing a visitor names
    for endpoint, spec in named.items():
        for parameter in spec["parameters"]:
            assert parameter["parameter_name"] not in {"model", "checkpoint", "repo", "repo_id", "path"}, endpoint
    assert [p["parameter_name"] for p in named["/compare"]["parameters"]] == [
        "task",
        "text",
        "top_k",
        "repeats",
        "question",
        "bert_variant",  # how each side runs (fp32, int8, ...): a choice among variants, never a file
        "distilbert_variant",
    ]


class _RunsCode:
    """A pickle that would create a file when unpickled with plain pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_checkpoint_cannot_run_code(tiny_models, tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(tiny_models["fill-mask-bert"], folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    with (folder / "pytorch_model.bin").open("wb") as f:
        pickle.dump({"bert.embeddings.word_embeddings.weight": _RunsCode(marker)}, f)
    with pytest.raises(loading.LoadError):
        loading.load_model("fill-mask", "bert", str(folder), allow_twin=False)
    assert not marker.exists()  # torch.load(weights_only=True) refused the pickle


def test_remote_code_is_never_trusted(tiny_models, tmp_path):
    folder = tmp_path / "remote-code"
    shutil.copytree(tiny_models["fill-mask-bert"], folder)
    marker = tmp_path / "ran"
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForMaskedLM": "modeling_evil.EvilModel", "AutoConfig": "modeling_evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    try:
        loaded = loading.load_model("fill-mask", "bert", str(folder), allow_twin=False)
    except loading.LoadError:
        pass
    else:
        assert type(loaded.model).__name__ == "BertForMaskedLM"
    assert not marker.exists()


def test_one_broken_side_the_app_still_serves_the_other(tiny_models, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port)}
    args = [
        sys.executable,
        "app.py",
        "--fill-mask-bert",
        str(tmp_path / "missing-folder"),
        "--fill-mask-distilbert",
        tiny_models["fill-mask-distilbert"],
        "--sentiment-bert",
        tiny_models["sentiment-bert"],
        "--sentiment-distilbert",
        tiny_models["sentiment-distilbert"],
    ]
    server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and http_status(url) != 200:
            assert server.poll() is None, "the app exited"
            time.sleep(0.3)
        *_, raw = Client(url, verbose=False).predict("fill-mask", "The [MASK] sat.", 3, 1, api_name="/compare")
        assert raw["models"]["bert"]["source"] == "twin"
        assert "missing-folder" in raw["models"]["bert"]["note"] and "does not exist" in raw["models"]["bert"]["note"]
        assert raw["models"]["distilbert"]["source"] == "local" and raw["models"]["distilbert"]["predictions"]
    finally:
        server.terminate()
        server.wait(timeout=30)
