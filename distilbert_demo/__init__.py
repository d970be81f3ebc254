"""BERT vs DistilBERT, side by side: predictions, latency, memory and attention.

Logic lives in small modules (loading, inputs, predict, measure, compare, plots); `ui` lays out
the Gradio app and `cli` the command line, both calling the same functions.
"""

import os

# The profiler used for memory figures prints two lines per pass on stderr unless told not to
# (read when torch starts, so set before anything imports it).
os.environ.setdefault("KINETO_LOG_LEVEL", "5")
