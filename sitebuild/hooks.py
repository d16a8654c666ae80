"""MkDocs hooks: the build steps that make the guide's pages live.

Order of events for ``mkdocs build``:

* on_config: install pinned npm packages if missing; register the ```pycell
  fence; make sure the trained model exists (model_export.build: trains only
  when its code or configuration changed, else reuses .cache/model/).
* on_page_markdown: run the page's cells with CPython, fill in prose values.
* on_page_content: embed each cell's output; render math with KaTeX.
* on_post_page: give the page its runtime settings and the editor's import map.
* on_post_build: copy runtimes (Pyodide core, ORT wasm, CodeMirror, KaTeX css),
  the cell runner and the model's artifacts into the site.
"""

import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # hooks are loaded by path; make the package importable
    sys.path.insert(0, str(ROOT))

from model_export import build as model_build  # noqa: E402
from sitebuild import cells, mathrender, vendor  # noqa: E402

settings = {}
# What the site ships from the model build, under site/assets/model/.
MODEL_FILES = ["model.onnx", "model_sft.onnx", "model_rlhf.onnx", "model_agent.onnx", "model_reward.onnx",
               "tokenizer.json", "knowledge.json", "report.json", "run.py"]
artifacts = {"dir": None}


def on_config(config):
    vendor.ensure_node_modules()
    fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
    fences.append({"name": "pycell", "class": "pycell", "format": cells.fence_format})
    extra = config.extra
    version = vendor.pyodide_version()
    artifacts["dir"] = model_build.ensure_artifacts()  # profile: $LLM_GUIDE_PROFILE, else "full"
    os.environ[cells.ARTIFACTS_ENV] = str(artifacts["dir"])  # cells read them at build time
    settings.clear()
    settings.update(
        pyodideVersion=version,
        pyodidePackages=extra["pyodide_packages"].format(version=version),
        pyodideTimeoutSeconds=extra.get("pyodide_timeout_seconds", 90),
    )
    return config


def on_page_markdown(markdown, page, config, files):
    # The artifacts' folder name carries their content hash: new model, new cell outputs.
    return cells.prepare_page(markdown, page.file.src_path, extra_key=artifacts["dir"].name)


def on_page_content(html, page, config, files):
    html = cells.fill_outputs(html, page.file.src_path)
    return mathrender.render_math(html)


def site_root_prefix(page):
    """Relative path from a page to the site root ('' for the home page)."""
    depth = page.url.count("/") if page.url else 0
    return "../" * depth


def on_post_page(output, page, config):
    prefix = site_root_prefix(page)
    head = (
        f'<script type="importmap">{json.dumps(vendor.import_map(prefix))}</script>'
        f'<script type="application/json" id="guide-settings">{json.dumps(settings)}</script>'
    )
    return output.replace("</head>", head + "</head>", 1)


def on_post_build(config):
    site = Path(config.site_dir)
    vendor.copy_runtimes(site)
    (site / "assets" / "py").mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "sitebuild" / "cellrun.py", site / "assets" / "py" / "cellrun.py")
    model_dir = site / "assets" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(artifacts["dir"] / name, model_dir / name)
