"""`distilbert-demo web`: the static page on localhost, for a talk without a network.

Everything comes from this machine: the page (web/), transformers.js and ONNX Runtime Web's files
from the lock file's packages (web/node_modules, `npm ci`), the models exported by export-web into a
folder of ours, and site.json naming them. Every response carries the cross-origin isolation headers
that let WebAssembly use threads (SharedArrayBuffer), as the Static Space's front matter sets them.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import mimetypes
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import site

# What makes the page cross-origin isolated (web/README.md's custom_headers set the same three).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}
NPM_CI = "cd web && npm ci --ignore-scripts"


class SetupError(RuntimeError):
    """The page cannot be served from here; the message says what to run."""


def check_vendor() -> dict[str, Path]:
    """vendor/ name -> the file in web/node_modules; refuses with what to run when one is missing."""
    if not site.WEB.is_dir():
        raise SetupError(f"the page's folder {site.WEB} is missing: `distilbert-demo web` runs from a checkout")
    files = {name: site.WEB / path for name, path in site.vendor()["files"].items()}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise SetupError(f"{', '.join(missing)} not found: install the page's packages first (`{NPM_CI}`)")
    return files


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "distilbert-demo-web"
    routes: dict[str, Path]  # URL path -> file
    models: Path  # served under /models/
    site_json: bytes

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the page's own requests are not news

    def _file(self, path: str) -> Path | bytes | None:
        if path in ("/", "/index.html"):
            return self.routes["/index.html"]
        if path == "/site.json":
            return self.site_json
        if path in self.routes:
            return self.routes[path]
        if path.startswith("/models/"):
            target = (self.models / path.removeprefix("/models/")).resolve()
            if target.is_file() and target.is_relative_to(self.models.resolve()):
                return target
        return None

    def _send(self, head_only: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        found = self._file(path)
        if found is None:
            self.send_error(404, "not found")
            return
        body = found if isinstance(found, bytes) else found.read_bytes()
        name = "site.json" if isinstance(found, bytes) else found.name
        kind = TYPES.get(Path(name).suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in ISOLATION_HEADERS.items():
            self.send_header(key, value)
        self.end_headers()
        if not head_only:
            # the browser may have gone away (a closed tab, a cancelled fetch): nothing to tell anyone
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        self._send(head_only=False)

    def do_HEAD(self):  # noqa: N802
        self._send(head_only=True)


def make_server(models: Path, site_config: dict, host: str = "127.0.0.1", port: int = 8000):
    """A server for the page with `models` under /models/ and `site_config` as site.json (port 0: any
    free port; the bound one is server.server_address[1])."""
    routes = {f"/{name}": site.WEB / name for name in site.vendor()["page"]}
    routes |= {f"/vendor/{name}": path for name, path in check_vendor().items()}
    handler = type(
        "Handler",
        (_Handler,),
        {"routes": routes, "models": Path(models), "site_json": json.dumps(site_config).encode("utf-8")},
    )
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_background(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="web")
    thread.start()
    return thread
