"""BERT vs DistilBERT, side by side: predictions, latency, memory, attention, live distillation.

A flat shared base (registry, loading, twins, inputs, predict, qa, measure, sized_inputs, variants,
int8, layer_map, labelled, reference, prefetch, doctor, palette, markup, settings, resources, links, tabs,
gpu, storage, students, kept) and one folder per feature (compare/, attention/, explain/, distill/,
evaluate/, bench/, ladder/), each with its core (no Gradio), figures (no models) and tab (layout and
wiring only). `ui` composes the page, `cli` the command line; both call the same cores.
"""

import os

# Gradio phones home on import unless told not to; a public server and the tests never should.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# On a ZeroGPU Space `spaces` patches torch, so it must come first (see gpu.py).
# torchao next, before transformers imports it, so that what it logs while loading is kept (int8.py).
from . import gpu, int8  # noqa: E402, F401, I001

int8.import_torchao()
from .storage import default_root  # noqa: E402

# Gradio's cache (the copies of files handed to the page) lives in the app's own folder, so it
# expires with the rest and goes when the process ends (storage.py). A value an operator set is
# kept; one this package set in a parent process (inherited by a server it started) is replaced.
_OURS = "DISTILBERT_DEMO_GRADIO_TEMP_DIR"
if os.environ.get("GRADIO_TEMP_DIR") in (None, os.environ.get(_OURS)):
    os.environ["GRADIO_TEMP_DIR"] = os.environ[_OURS] = str(default_root() / "gradio")
