"""Self-hosted front-end runtimes: copied from node_modules into the site.

Nothing a page needs is fetched from a CDN (the one exception, by design, is
numpy's Pyodide wheel, which no registry we can install from carries). The
versions are pinned in package.json / package-lock.json; this module installs
them with ``npm ci`` when node_modules is missing, then copies only the files
the pages load into ``site/vendor/``.
"""

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"

# Package -> files the site serves. Only the core of Pyodide (packages such as
# numpy come from packageBaseUrl) and ORT's wasm-only build (the default
# entry drags in a 28 MB WebGPU/JSEP binary the demos never use).
RUNTIME_FILES = {
    "pyodide": ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"],
    "onnxruntime-web": [
        "dist/ort.wasm.min.mjs",
        "dist/ort-wasm-simd-threaded.mjs",
        "dist/ort-wasm-simd-threaded.wasm",
    ],
    "katex": ["dist/katex.min.css", "dist/fonts"],
}

# The code editor is loaded as native ES modules through an import map, so no
# bundler is needed: these are the roots, their dependencies are followed.
EDITOR_ROOTS = ["@codemirror/state", "@codemirror/view", "@codemirror/language", "@codemirror/commands", "@codemirror/lang-python"]


def ensure_node_modules():
    """Install the pinned front-end packages if they are not there yet."""
    missing = [p for p in (*RUNTIME_FILES, *EDITOR_ROOTS) if not (NODE_MODULES / p / "package.json").exists()]
    if missing:
        print(f"vendor: npm packages missing ({', '.join(missing)}); running npm ci")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)


def package_json(name):
    return json.loads((NODE_MODULES / name / "package.json").read_text())


def pyodide_version():
    return package_json("pyodide")["version"]


def esm_entry(meta):
    exports = meta.get("exports")
    if isinstance(exports, dict):
        entry = exports.get("import") or exports.get(".", {}).get("import")
        if isinstance(entry, dict):
            entry = entry.get("default")
        if entry:
            return entry.lstrip("./")
    return meta.get("module") or meta.get("main", "index.js")


def editor_packages():
    """Every package the editor's roots import, with its ES module entry file."""
    entries, todo = {}, list(EDITOR_ROOTS)
    while todo:
        name = todo.pop()
        if name in entries:
            continue
        meta = package_json(name)
        entries[name] = esm_entry(meta)
        todo.extend(meta.get("dependencies", {}))
    return dict(sorted(entries.items()))


def import_map(prefix):
    """The page's import map, with URLs under ``prefix`` (the site root)."""
    return {"imports": {name: f"{prefix}vendor/npm/{name}/{entry}" for name, entry in editor_packages().items()}}


def copy_runtimes(site_dir):
    """Copy runtimes and editor modules into ``site_dir/vendor``."""
    vendor = Path(site_dir) / "vendor"
    for package, files in RUNTIME_FILES.items():
        for rel in files:
            src = NODE_MODULES / package / rel
            dst = vendor / package / Path(rel).name
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    for name, entry in editor_packages().items():
        # An entry may import sibling files, so its whole folder travels (ESM files only).
        src_dir = (NODE_MODULES / name / entry).parent
        dst_dir = vendor / "npm" / name / Path(entry).parent
        shutil.copytree(
            src_dir,
            dst_dir,
            dirs_exist_ok=True,
            ignore=lambda d, names: [n for n in names if n.endswith((".cjs", ".d.ts", ".d.cts", ".map"))],
        )
