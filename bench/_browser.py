"""Shared helpers for the browser bench scripts and tests/browser.

* ``site_dir()``: a built site (GUIDE_SITE_DIR if set, else a fresh
  ``mkdocs build`` into a temporary folder).
* ``serve(root)``: a local HTTP server on 127.0.0.1 (a free port) in a thread.
* ``launch(playwright)``: Debian's chromium, headless, with every host but
  127.0.0.1 unresolvable (the site must work offline; the one outside URL the
  pages may ask for, Pyodide's package CDN, then fails fast and visibly).

Never ``playwright install``: the system chromium is used.
"""

import contextlib
import functools
import http.server
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GUIDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Python 3.11 maps both already; pinned here because a wrong .wasm type makes
# loadPyodide() hang forever and a wrong .mjs type stops module scripts.
MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}


def build_site(dest=None, quiet=True):
    """Run ``mkdocs build`` into ``dest`` (a new temp dir if None); return the path."""
    dest = Path(dest or tempfile.mkdtemp(prefix="guide-site-"))
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env.setdefault("LLM_GUIDE_PROFILE", "smoke")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    cmd = [str(mkdocs) if mkdocs.exists() else "mkdocs", "build", "-q" if quiet else "-v", "-d", str(dest)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mkdocs build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return dest


def site_dir():
    """GUIDE_SITE_DIR if it points to a built site, else a fresh build."""
    given = os.environ.get("GUIDE_SITE_DIR")
    if given:
        path = Path(given).resolve()
        if not (path / "index.html").is_file():
            raise RuntimeError(f"GUIDE_SITE_DIR={given} holds no built site (no index.html)")
        return path
    return build_site()


@contextlib.contextmanager
def built_site():
    """``site_dir()``, removing the temporary build afterwards (never GUIDE_SITE_DIR)."""
    path = site_dir()
    try:
        yield path
    finally:
        if not os.environ.get("GUIDE_SITE_DIR"):
            shutil.rmtree(path, ignore_errors=True)


def replace_model_file(site, name, data):
    """Put ``data`` in a built site as assets/model/<name>, with the manifest that the
    page checks downloads against (and every page's id of it) updated to match."""
    import hashlib
    import json
    import re

    model_dir = Path(site) / "assets" / "model"
    (model_dir / name).write_bytes(data)
    manifest_path = model_dir / "manifest.json"
    old_id = hashlib.sha256(manifest_path.read_bytes()).hexdigest()[:16]
    manifest = json.loads(manifest_path.read_text())
    manifest[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    manifest_path.write_text(text)
    new_id = hashlib.sha256(text.encode()).hexdigest()[:16]
    for page in Path(site).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if old_id in html:
            page.write_text(re.sub(rf'"modelManifest": "{old_id}"', f'"modelManifest": "{new_id}"', html), encoding="utf-8")


def site_pages(root):
    """Every HTML page of the built site, as URL paths ('/', '/neural-networks/layer/', '/404.html')."""
    root = Path(root)
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("assets", "vendor", "search"):
            continue
        url = "/" + rel.as_posix()
        pages.append(url[: -len("index.html")] if url.endswith("/index.html") or url == "/index.html" else url)
    return pages


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    cache_control = None
    extra_headers: dict = {}

    def end_headers(self):
        if self.cache_control:
            self.send_header("Cache-Control", self.cache_control)
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args):  # quiet: the tests read requests from the browser
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The browser drops keep-alive connections when a context closes.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(root, cache_control=None, headers=None):
    """Serve ``root`` on http://127.0.0.1:<free port>; yields the base URL (no trailing slash).

    ``cache_control``: a Cache-Control header for every response, e.g.
    "max-age=600" (what GitHub Pages sends); None sends none (Last-Modified only).
    ``headers``: more headers for every response (bench_threads.py's cross-origin isolation).
    """
    for ext, mime in MIME_TYPES.items():
        mimetypes.add_type(mime, ext)
    handler = type("Handler", (_Handler,), {"cache_control": cache_control, "extra_headers": dict(headers or {})})
    server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="guide-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def launch(playwright, **kwargs):
    """Headless system chromium with the offline flags (a fresh temp profile per launch)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs)


def gzip_size(data, level=6):
    """Size of ``data`` gzipped the way a static host would (level 6, like nginx/GitHub Pages)."""
    import gzip

    return len(gzip.compress(data, compresslevel=level, mtime=0))


def launch_persistent(playwright, user_data_dir, **kwargs):
    """Like ``launch`` but with an on-disk profile (real HTTP disk cache and wasm code cache).

    An ordinary ``new_context()`` keeps its cache in memory, where Chromium
    refuses large entries (pyodide.asm.wasm is refetched every time), so warm
    timings need this.
    """
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs
    )
