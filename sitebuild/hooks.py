"""MkDocs hooks: the build steps that make the guide's pages live.

Order of events for ``mkdocs build``:

* on_config: install pinned npm packages if missing; register the ```pycell
  fence; make sure the trained model exists (model_export.build: trains only
  when its code or configuration changed, else reuses .cache/model/), and
  the embedding map derived from it (sitebuild/embedding_map.py, cached too).
* on_page_markdown: run the page's cells with CPython, fill in prose values
  (and the home page's reading times, sitebuild/reading.py).
* on_page_content: embed each cell's output; render math with KaTeX.
* on_post_page: give the page its runtime settings and the editor's import map.
* on_post_build: copy runtimes (Pyodide core, ORT wasm, CodeMirror, KaTeX css),
  the cell runner and the model's artifacts into the site, with manifest.json
  (each model file's size and SHA-256, checked by the page after download).
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # hooks are loaded by path; make the package importable
    sys.path.insert(0, str(ROOT))

from model_export import build as model_build  # noqa: E402
from model_export.checkpoints import SHIPPED_FILES  # noqa: E402
from sitebuild import cells, embedding_map, mathrender, notebook_css, reading, vendor  # noqa: E402

settings = {}
# What the site ships from the model build, under site/assets/model/ (the
# checkpoints, the reward model, the tokenizer, the report, run.py and its
# parameter files: model_export/checkpoints.py lists them).
MODEL_FILES = list(SHIPPED_FILES)
MODEL_FILES += embedding_map.FILES  # derived from the model by sitebuild/embedding_map.py (see model_path)
artifacts = {"dir": None}


def model_path(name):
    """Where a shipped file comes from: the model build's folder, or the embedding map's."""
    return (artifacts["map"] if name in embedding_map.FILES else artifacts["dir"]) / name


def on_config(config):
    vendor.ensure_node_modules()
    fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
    fences.append({"name": "pycell", "class": "pycell", "format": cells.fence_format})
    extra = config.extra
    version = vendor.pyodide_version()
    artifacts["dir"] = model_build.ensure_artifacts()  # profile: $LLM_GUIDE_PROFILE, else "full"
    artifacts["map"] = embedding_map.ensure(artifacts["dir"])  # about a second, cached
    os.environ[cells.ARTIFACTS_ENV] = os.pathsep.join(map(str, (artifacts["dir"], artifacts["map"])))  # cells read them at build time
    settings.clear()
    artifacts.pop("manifest", None)  # `mkdocs serve` rebuilds: hash the files again
    settings.update(
        pyodideVersion=version,
        pyodidePackages=extra["pyodide_packages"].format(version=version),
        pyodideTimeoutSeconds=extra.get("pyodide_timeout_seconds", 90),
        # a download that receives nothing for this long is abandoned (the widget offers Retry)
        assetStallSeconds=extra.get("asset_stall_seconds", 10),
        runtimeFiles=runtime_manifest(),
    )
    return config


def runtime_manifest():
    """Size and SHA-256 of the runtimes' big downloads, checked on arrival: Pyodide's
    (py-worker.js; Pyodide itself would wait forever on a damaged core) and
    onnxruntime-web's wasm (model-runtime.js; a damaged one would be blamed on the model)."""
    files = {}
    for rel in ("pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip", "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"):
        data = (vendor.NODE_MODULES / rel).read_bytes()
        files[Path(rel).name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = reading.fill(markdown, config["nav"], config["docs_dir"])  # the home page's reading times
    # The artifacts' folder name carries their content hash: new model, new cell outputs.
    return cells.prepare_page(markdown, page.file.src_path, extra_key=artifacts["map"].name)  # names the model's folder too


def on_page_content(html, page, config, files):
    html = cells.fill_outputs(html, page.file.src_path)
    return mathrender.render_math(html)


def site_root_prefix(page):
    """Relative path from a page to the site root ("./" for the home page: an
    import map's "vendor/..." without it would be a bare specifier, and ignored)."""
    depth = page.url.count("/") if page.url else 0
    return "../" * depth or "./"


def model_manifest():
    """{file: {bytes, sha256}} for every file copied under assets/model/, and its id.

    The page checks each download against it (size and SHA-256) and asks for
    ``file?v=<hash prefix>``, so a browser cache never mixes files of two builds;
    the id (the manifest's own hash prefix) reaches pages in their settings
    before on_post_build writes the manifest itself.
    """
    if "manifest" not in artifacts:
        files = {}
        for name in MODEL_FILES:
            data = model_path(name).read_bytes()
            files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        text = json.dumps(files, indent=1, sort_keys=True) + "\n"
        artifacts["manifest"] = (text, hashlib.sha256(text.encode()).hexdigest()[:16])
    return artifacts["manifest"]


def on_post_page(output, page, config):
    prefix = site_root_prefix(page)
    settings["modelManifest"] = model_manifest()[1]
    head = (
        f'<script type="importmap">{json.dumps(vendor.import_map(prefix))}</script>'
        f'<script type="application/json" id="guide-settings">{json.dumps(settings)}</script>'
    )
    return notebook_css.trim_page(output).replace("</head>", head + "</head>", 1)


def on_post_build(config):
    site = Path(config.site_dir)
    vendor.copy_runtimes(site)
    (site / "assets" / "py").mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "sitebuild" / "cellrun.py", site / "assets" / "py" / "cellrun.py")
    model_dir = site / "assets" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(model_path(name), model_dir / name)
    (model_dir / "manifest.json").write_text(model_manifest()[0], encoding="utf-8")
