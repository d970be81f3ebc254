"""Offline start: architecture twins with the exact default architectures."""

import os
import subprocess
import sys
import time

import pytest

from distilbert_demo import loading, twins

from .test_cli import ROOT


@pytest.fixture(scope="module")
def twin_pair():
    return {side: loading.load_model("fill-mask", side) for side in ("bert", "distilbert")}


def test_twins_have_the_exact_parameter_counts(twin_pair):
    assert twin_pair["bert"].source == twin_pair["distilbert"].source == "twin"
    assert twin_pair["bert"].params == 109_514_298
    assert twin_pair["distilbert"].params == 66_985_530
    assert twin_pair["bert"].layers == 12 and twin_pair["distilbert"].layers == 6


def test_twin_note_says_why(twin_pair):
    assert "HF_HUB_OFFLINE is set" in twin_pair["bert"].note
    assert "bert-base-uncased" in twin_pair["bert"].note


def test_twin_tokenizer_matches_the_config_and_bert_layout(twin_pair):
    for model in twin_pair.values():
        tok = model.tokenizer
        assert len(tok) == model.model.config.vocab_size == 30522
        assert [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == [
            0,
            100,
            101,
            102,
            103,
        ]
        pieces = tok.tokenize("The capital of France is [MASK].")
        assert "[UNK]" not in pieces and "[MASK]" in pieces
    assert "token_type_ids" not in twin_pair["distilbert"].tokenizer("hello")


def test_twins_are_deterministic():
    a = twins.build_twin("distilbert-base-uncased", "AutoModelForMaskedLM")
    b = twins.build_twin("distilbert-base-uncased", "AutoModelForMaskedLM")
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert (pa == pb).all(), name


def test_question_answering_twins():
    bert = loading.load_model("qa", "bert")
    distil = loading.load_model("qa", "distilbert")
    assert bert.source == distil.source == "twin"
    assert (bert.params, distil.params) == (108_893_186, 65_192_450)
    assert len(distil.tokenizer) == 28996 and distil.tokenizer.tokenize("Paris")[0] == "Paris"  # cased
    assert bert.tokenizer.tokenize("Paris")[0] == "paris"  # uncased


def test_sentiment_twins_normalise_labels():
    bert = loading.load_model("sentiment", "bert")
    distil = loading.load_model("sentiment", "distilbert")
    assert bert.source == distil.source == "twin"
    assert bert.labels == distil.labels == ["negative", "positive"]


def test_cli_says_twins_are_untrained():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "distilbert_demo",
            "compare",
            "--task",
            "sentiment",
            "--text",
            "Fine.",
            "--repeats",
            "1",
            "--json",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "UNTRAINED twin" in proc.stderr and "prefetch" in proc.stderr
    assert '"source": "twin"' in proc.stdout


def test_app_starts_offline_on_twins_and_says_so(tmp_path):
    """`python app.py` with no hub access: the page is served at once, saying the models are
    loading; then requests are answered by the twins."""
    import socket
    import urllib.request

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port)}
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        page = None
        while time.perf_counter() - started < 120 and server.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.25)
        served = time.perf_counter() - started
        assert page is not None, "the app did not start"
        assert "loading…" in page  # progress, not a blank page, while the weights load
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        *_, raw = client.predict("fill-mask", "The [MASK] sat.", 3, 1, api_name="/compare")
        answered = time.perf_counter() - started
        print(f"page served {served:.1f} s after launch; first comparison answered at {answered:.1f} s, on twins")
        assert raw["models"]["bert"]["source"] == raw["models"]["distilbert"]["source"] == "twin"
        assert "HF_HUB_OFFLINE is set" in raw["models"]["bert"]["note"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_banner_warns_about_twins():
    from distilbert_demo import ui

    store = loading.ModelStore()
    store.pair("fill-mask")
    text = ui.banner_text(store)
    assert "Untrained twins in use" in text and "random weights" in text and "prefetch" in text
    assert "**sentiment**: loading…" in text  # not asked for yet
    line = ui.loading_text(store)  # presenter mode's stand-in for the banner
    assert "Loading the models" in line and "sentiment, qa" in line and "ready: fill-mask" in line


def test_the_loading_line_is_empty_once_every_pair_is_ready_or_failed():
    from distilbert_demo import markup

    assert markup.loading_line(("fill-mask", "sentiment", "qa"), ()) == ""  # presenter mode hides it then
    assert "qa could not be loaded" in markup.loading_line(("fill-mask", "sentiment"), (), {"qa": "gone"})
    assert "&lt;b&gt;" in markup.loading_line((), ("<b>",))  # names are escaped, as in the banner


def test_twin_vocabulary_is_the_same_in_every_process():
    """Same vocabulary on every start, so a twin gives the same answer after a restart."""
    script = (
        "import hashlib, json; from distilbert_demo import twins; "
        "print(hashlib.sha256(json.dumps([twins.twin_vocab(30522), twins.twin_vocab(28996, lowercase=False)])"
        ".encode()).hexdigest())"
    )
    digests = {
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for _ in range(3)
    }
    assert len(digests) == 1
