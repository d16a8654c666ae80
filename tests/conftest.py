"""Shared fixtures: the site is built once per test session (smoke model)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests use the small, fast model unless told otherwise; set here, once, so the
# site build and every test that asks model_export.build for artifacts agree.
os.environ.setdefault("LLM_GUIDE_PROFILE", "smoke")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Path of a freshly built site (``mkdocs build --strict``), or GUIDE_SITE_DIR if set."""
    given = os.environ.get("GUIDE_SITE_DIR")
    if given:
        return Path(given)
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return site
