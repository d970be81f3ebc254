"""Shared fixtures: tiny random checkpoints saved to a temp folder and loaded through the real
loading path (the model hub is never reached in tests)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# The kept ONNX exports go to a folder of the test run's own (removed at the end), never ~/.cache.
import shutil  # noqa: E402
import tempfile  # noqa: E402

KEPT_EXPORTS = tempfile.mkdtemp(prefix="distilbert-demo-test-exports-")
os.environ["DISTILBERT_DEMO_CACHE_DIR"] = KEPT_EXPORTS

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertTokenizerFast,
    DistilBertConfig,
    DistilBertForMaskedLM,
    DistilBertForQuestionAnswering,
    DistilBertForSequenceClassification,
    DistilBertTokenizerFast,
)

WORDS = (
    "the a an of to in and is was were be it this that on at for with as by from he she they we you i "
    "man woman child dog cat house city country capital france paris london river mountain car book "
    "movie film food staff hotel room time life day night morning storm snow road roads street "
    "good bad great terrible wonderful delicious awful boring fun happy sad not never very really "
    "worked works hospital doctor nurse teacher cup coffee tea poured opened newspaper covered "
    "waste complete two hours my get back another will expected more such famous director but all "
    "clean quiet cheaper than small large one model train trains knowledge distillation imitate "
    ". , ! ? ' - ; :"
).split()
SUBWORDS = ["##s", "##ed", "##ing", "##ly", "##er", "##est", "##y", "##e", "##a", "##o", "##i", "##n", "##t"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz0123456789")


def tiny_vocab() -> dict[str, int]:
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for tok in WORDS + LETTERS + ["##" + c for c in LETTERS] + SUBWORDS:
        if tok not in tokens:
            tokens.append(tok)
    return {tok: i for i, tok in enumerate(tokens)}


def _bert_config(vocab_size: int, **extra) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        **extra,
    )


def _distil_config(vocab_size: int, **extra) -> DistilBertConfig:
    return DistilBertConfig(
        vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=512, **extra
    )


def save_tiny(folder: Path, model, tokenizer) -> str:
    model.save_pretrained(folder)  # safetensors by default
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """Folders of tiny random checkpoints: {fill-mask,sentiment}-{bert,distilbert}."""
    root = tmp_path_factory.mktemp("tiny")
    vocab = tiny_vocab()
    # transformers 5 takes `vocab=`; `vocab_file=` would silently give a 5-token tokenizer.
    bert_tok = BertTokenizerFast(vocab=dict(vocab), do_lower_case=True, model_max_length=512)
    distil_tok = DistilBertTokenizerFast(vocab=dict(vocab), do_lower_case=True, model_max_length=512)
    assert len(bert_tok) == len(vocab) == len(distil_tok)
    labels_generic = {"id2label": {0: "LABEL_0", 1: "LABEL_1"}, "label2id": {"LABEL_0": 0, "LABEL_1": 1}}
    labels_named = {"id2label": {0: "NEGATIVE", 1: "POSITIVE"}, "label2id": {"NEGATIVE": 0, "POSITIVE": 1}}
    torch.manual_seed(1234)
    models = {
        "fill-mask-bert": (BertForMaskedLM(_bert_config(len(vocab))), bert_tok),
        "fill-mask-distilbert": (DistilBertForMaskedLM(_distil_config(len(vocab))), distil_tok),
        "sentiment-bert": (BertForSequenceClassification(_bert_config(len(vocab), **labels_generic)), bert_tok),
        "sentiment-distilbert": (
            DistilBertForSequenceClassification(_distil_config(len(vocab), **labels_named)),
            distil_tok,
        ),
        "qa-bert": (BertForQuestionAnswering(_bert_config(len(vocab))), bert_tok),
        "qa-distilbert": (DistilBertForQuestionAnswering(_distil_config(len(vocab))), distil_tok),
    }
    return {name: save_tiny(root / name, model, tok) for name, (model, tok) in models.items()}


def tiny_flags(tiny_models: dict[str, str]) -> list[str]:
    """app.py's flags that serve every task on the tiny checkpoints (for a server in a subprocess)."""
    return [
        f"--{task}-{side}={tiny_models[f'{task}-{side}']}"
        for task in ("fill-mask", "sentiment", "qa")
        for side in ("bert", "distilbert")
    ]


@pytest.fixture(scope="session")
def tiny_store(tiny_models):
    from distilbert_demo.loading import ModelStore

    overrides = {
        (task, side): tiny_models[f"{task}-{side}"]
        for task in ("fill-mask", "sentiment", "qa")
        for side in ("bert", "distilbert")
    }
    return ModelStore(overrides, allow_twin=False)


@pytest.fixture(scope="session")
def launched_app(tiny_store):
    """The real app on tiny checkpoints, served on localhost; yields its URL."""
    from distilbert_demo import registry, ui

    tiny_store.load(list(registry.TASKS))  # as the app does at start (ui.create_app): every pair, at once
    app = ui.build_app(tiny_store)
    ui.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield app.local_url
    app.close()


@pytest.fixture(scope="session", autouse=True)
def _remove_kept_exports():
    yield
    shutil.rmtree(KEPT_EXPORTS, ignore_errors=True)


SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def twin_store():
    """The default checkpoints' architecture twins (the tests run offline): real sizes, random weights."""
    from distilbert_demo.loading import ModelStore

    return ModelStore()
