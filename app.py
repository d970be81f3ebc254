"""Hugging Face Spaces (and `gradio app.py`) run this file: the app lives in the package.

    python app.py [--fill-mask-bert ID_OR_PATH] [--threads N] [--host H] [--port P] ...

Every flag has an environment variable (see `python app.py --help`).
"""

import sys

from distilbert_demo import ui

# Flags only when run as a script; `gradio app.py` (reload mode) imports this module and finds `demo`.
args = ui.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
demo = ui.create_app(args)

if __name__ == "__main__":
    ui.exit_on_sigterm()
    ui.serve(demo, mcp=args.mcp, server_name=args.host, server_port=args.port)
