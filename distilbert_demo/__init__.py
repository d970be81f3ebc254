"""BERT vs DistilBERT, side by side: predictions, latency, memory and attention.

Logic lives in small modules (loading, inputs, predict, measure, compare, plots); `ui` lays out
the Gradio app and `cli` the command line, both calling the same functions.
"""
