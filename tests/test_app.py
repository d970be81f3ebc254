"""The launched app, answered through gradio_client on the named endpoints (files are not downloaded:
gradio_client would leave an empty folder in the system temp dir for each)."""

import time

import pytest
from gradio_client import Client

from distilbert_demo.compare import core as compare


def test_compare_endpoint(launched_app, tiny_store):
    client = Client(launched_app, verbose=False, download_files=False)
    outputs = client.predict("fill-mask", "The [MASK] is in the house.", 3, 2, api_name="/compare")
    notice, verdict, *_, raw = outputs
    assert notice == ""
    assert verdict.startswith("### DistilBERT: ")
    pair = tiny_store.pair("fill-mask")
    direct = compare.compare_pair(pair, "The [MASK] is in the house.", top_k=3, repeats=1).to_dict()
    for side in ("bert", "distilbert"):
        assert raw["models"][side]["predictions"] == direct["models"][side]["predictions"]
        assert raw["models"][side]["params"] == direct["models"][side]["params"]


def test_compare_endpoint_sentiment_and_bad_input(launched_app):
    client = Client(launched_app, verbose=False, download_files=False)
    *_, raw = client.predict("sentiment", "The hotel was lovely.", 2, 2, api_name="/compare")
    assert {p["label"] for p in raw["models"]["distilbert"]["predictions"]} == {"negative", "positive"}
    # bad input is an error for an API caller, with the page's message
    with pytest.raises(Exception, match=r"needs at least one \[MASK\]"):
        client.predict("fill-mask", "no mask", 2, 2, api_name="/compare")
    with pytest.raises(Exception, match="Please enter some text"):
        client.predict("fill-mask", "", 2, 2, api_name="/compare")
    # Gradio's own range check (the slider's minimum) runs before ours: an error too, one log line
    with pytest.raises(Exception, match="400"):
        client.predict("fill-mask", "The [MASK] sat.", 0, 2, api_name="/compare")


def test_attention_endpoint(launched_app):
    client = Client(launched_app, verbose=False, download_files=False)
    outputs = client.predict("fill-mask", "The dog and the cat.", "", api_name="/attention")
    raw = outputs[-1]
    assert raw["models"]["bert"]["tokens"][0] == "[CLS]"
    assert raw["models"]["distilbert"]["layer_map"] == [0, 2]
    assert len(raw["best_matches"]) == 2 * 4  # one row per DistilBERT head
    with pytest.raises(Exception, match="Please enter some text."):
        client.predict("fill-mask", "", "", api_name="/attention")


def test_one_distillation_at_a_time_the_second_visitor_waits(launched_app):
    """Two visitors start a run: the second is told it is queued until the first is done."""
    import time

    from gradio_client.utils import Status

    settings = ("", None, "", 150, 4, 32, 2.0, 5.0, 2.0, 1.0, 5e-4, False, 0)  # 0: a step count, no time budget
    first = Client(launched_app, verbose=False, download_files=False).submit(*settings, api_name="/distill")
    second = Client(launched_app, verbose=False, download_files=False).submit(*settings, api_name="/distill")
    seen_queued = False
    deadline = time.monotonic() + 120
    while not first.done() and time.monotonic() < deadline:
        status = second.status()
        if status.code == Status.IN_QUEUE and first.status().code in (Status.PROCESSING, Status.ITERATING):
            seen_queued = True
        time.sleep(0.05)
    assert seen_queued
    assert first.outputs()[-1][0].startswith("**Done:**")
    assert second.result(timeout=120)[0].startswith("**Done:**")


def test_one_visitor_cannot_fill_the_heavy_queue(launched_app):
    """A visitor whose heavy job is waiting or running is told so when they ask for another (Gradio's
    queue bounds its size and runs one heavy job at a time, but would queue a visitor's every click);
    another visitor is queued as usual, and once the first job is done the visitor may start again."""
    settings = ("", None, "", 150, 4, 32, 2.0, 5.0, 2.0, 1.0, 5e-4, False, 0)  # 0: a step count, no time budget
    visitor = Client(launched_app, verbose=False, download_files=False)
    running = visitor.submit(*settings, api_name="/distill")
    deadline = time.monotonic() + 60
    while running.status().code.name not in ("PROCESSING", "ITERATING") and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(Exception, match="You already have a job waiting or running"):
        visitor.predict(None, api_name="/evaluate")
    other = Client(launched_app, verbose=False, download_files=False).submit(None, api_name="/evaluate")
    assert running.result(timeout=120)[0].startswith("**Done:**")
    assert "Retention" in other.result(timeout=120)[0]  # the other visitor was queued, then answered
    assert visitor.predict(None, api_name="/evaluate")[0]  # the visitor's turn again


def test_bench_endpoint(launched_app):
    client = Client(launched_app, verbose=False, download_files=False)
    outputs = client.predict("fill-mask", [16, 64], [1], "fp32", 3, True, api_name="/bench")
    message, *_, raw = outputs
    assert message.startswith("### At 64 tokens, batch 1:")
    assert len(raw["rows"]) == 2 * 4 and [s["seq_len"] for s in raw["speedup"]] == [16, 64]
    with pytest.raises(Exception, match="at least one sequence length"):
        client.predict("fill-mask", [], [1], "fp32", 3, True, api_name="/bench")


def test_evaluate_endpoint(launched_app, tmp_path):
    from gradio_client import handle_file

    client = Client(launched_app, verbose=False, download_files=False)
    summary, *_, raw = client.predict(None, api_name="/evaluate")
    # the tiny random models answer at about chance: then the headline says retention is undefined
    headline = "### DistilBERT keeps" if raw["retention_defined"] else "### Retention is undefined here: "
    assert summary.startswith(headline)
    assert raw["data"]["examples"] >= 200
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,maybe\n")
    with pytest.raises(Exception, match="unknown label 'maybe'"):
        client.predict(handle_file(str(bad)), api_name="/evaluate")
    big = tmp_path / "big.csv"
    big.write_bytes(b"text,label\n" + b"a" * (3 * 2**20))
    with pytest.raises(Exception, match="(?i)(limit|too large|2 ?MiB|exceeds)"):  # refused before our code runs
        client.predict(handle_file(str(big)), api_name="/evaluate")


def test_the_api_page_describes_every_endpoint(launched_app):
    """Named outputs (no `value_15`), a description, and the parameters whose normal use is empty optional."""
    api = Client(launched_app, verbose=False, download_files=False).view_api(print_info=False, return_format="dict")
    named = api["named_endpoints"]
    for endpoint, spec in named.items():
        assert spec["description"].strip(), endpoint
        for returned in spec["returns"]:
            assert not returned["label"].startswith("value_"), (endpoint, returned["label"])
    optional = {
        (e, p["parameter_name"]) for e, spec in named.items() for p in spec["parameters"] if p["parameter_has_default"]
    }
    for expected in [
        ("/attention", "layer_map"),
        ("/distill", "pasted"),
        ("/distill", "upload"),
        ("/evaluate", "upload"),
        ("/compare", "question"),
        ("/compare", "repeats"),
        ("/compare", "distilbert_variant"),
        ("/ladder", "chosen"),
    ]:
        assert expected in optional, expected
