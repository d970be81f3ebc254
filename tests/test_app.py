"""The launched app, answered through gradio_client on the named endpoint /compare."""

from gradio_client import Client

from distilbert_demo import compare


def test_compare_endpoint(launched_app, tiny_store):
    client = Client(launched_app, verbose=False)
    outputs = client.predict("fill-mask", "The [MASK] is in the house.", 3, 2, api_name="/compare")
    notice, verdict, *_, raw = outputs
    assert notice == ""
    assert verdict.startswith("### DistilBERT: ")
    direct = compare.compare(tiny_store.pair("fill-mask"), "The [MASK] is in the house.", top_k=3, repeats=1).to_dict()
    for side in ("bert", "distilbert"):
        assert raw["models"][side]["predictions"] == direct["models"][side]["predictions"]
        assert raw["models"][side]["params"] == direct["models"][side]["params"]


def test_compare_endpoint_sentiment_and_bad_input(launched_app):
    client = Client(launched_app, verbose=False)
    *_, raw = client.predict("sentiment", "The hotel was lovely.", 2, 2, api_name="/compare")
    assert {p["label"] for p in raw["models"]["distilbert"]["predictions"]} == {"negative", "positive"}
    notice, *_, raw = client.predict("fill-mask", "no mask", 2, 2, api_name="/compare")
    assert "needs at least one [MASK]" in raw["error"]
    assert "❌" in notice


def test_attention_endpoint(launched_app):
    client = Client(launched_app, verbose=False)
    outputs = client.predict("fill-mask", "The dog and the cat.", "", api_name="/attention")
    raw = outputs[-1]
    assert raw["models"]["bert"]["tokens"][0] == "[CLS]"
    assert raw["models"]["distilbert"]["layer_map"] == [0, 2]
    assert len(raw["best_matches"]) == 2 * 4  # one row per DistilBERT head
    *_, raw = client.predict("fill-mask", "", "", api_name="/attention")
    assert "Please enter some text." in raw["error"]
