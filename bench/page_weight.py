"""What each page costs a reader before they touch anything.

Builds the site (or uses GUIDE_SITE_DIR), serves it on 127.0.0.1, opens every
page in a fresh headless chromium context (offline flags, empty cache), waits
for network idle, and prints per page: the number of requests and the bytes of
the response bodies, raw and gzipped (computed here at level 6, since GitHub
Pages gzips text; the local server does not). Figures only, no assertions.

    .venv/bin/python bench/page_weight.py [--top N]
"""

import argparse
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _browser  # noqa: E402

# Already-compressed formats: GitHub Pages serves them as they are.
NOT_GZIPPED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".gz", ".zip", ".whl")


def measure(browser, url):
    ctx = browser.new_context()
    responses = []
    ctx.on("response", lambda r: responses.append(r))  # context-level: workers' fetches too
    page = ctx.new_page()
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)
    rows = []
    for r in responses:
        try:
            body = r.body()
        except Exception:  # redirects and aborted requests have no body
            body = b""
        path = urllib.parse.urlsplit(r.url).path
        gz = len(body) if path.endswith(NOT_GZIPPED) else _browser.gzip_size(body)
        rows.append((path, r.status, len(body), gz))
    ctx.close()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=3, help="largest responses to list per page")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with _browser.built_site() as site, _browser.serve(site) as base, sync_playwright() as p:
        pages = _browser.site_pages(site)
        browser = _browser.launch(p)
        print(f"site: {site}")
        print(f"{'page':34} {'requests':>8} {'raw KB':>9} {'gzip KB':>9}")
        results = {}
        for path in pages:
            rows = measure(browser, base + path)
            results[path] = rows
            raw = sum(r[2] for r in rows) / 1024
            gz = sum(r[3] for r in rows) / 1024
            print(f"{path:34} {len(rows):8d} {raw:9.1f} {gz:9.1f}")
        browser.close()
    if args.top <= 0:
        return
    print(f"\nlargest {args.top} responses per page (raw KB / gzip KB):")
    for path, rows in results.items():
        print(f"  {path}")
        for rpath, status, raw, gz in sorted(rows, key=lambda r: -r[2])[: args.top]:
            print(f"    {raw / 1024:8.1f} {gz / 1024:8.1f}  {rpath}" + ("" if status == 200 else f"  [{status}]"))


if __name__ == "__main__":
    main()
