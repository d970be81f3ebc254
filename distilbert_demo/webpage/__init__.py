"""The static page's Python side (the page itself is web/, run by transformers.js in the visitor's
browser): `export.py` writes a checkpoint in the layout transformers.js loads, `serve.py` serves the
page on localhost for a talk without a network, with the checkpoints it was given."""
