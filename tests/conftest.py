"""Shared fixtures: the site is built once per test session (smoke model).

Tests marked `full` check the model the site ships: `full_artifacts` builds it
(about 15-20 minutes on 2 cores the first time, then cached under .cache/model/)
and `full_site` builds the site around it. `-m "not full"` leaves them out.
"""

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


@pytest.fixture(scope="session")
def full_artifacts():
    """The folder of the full profile's build (model_export/build.py), built if missing."""
    from model_export import build
    return build.ensure_artifacts("full")


@pytest.fixture(scope="session")
def full_site(tmp_path_factory, full_artifacts):
    """A site built around the full model, or GUIDE_FULL_SITE_DIR if set."""
    given = os.environ.get("GUIDE_FULL_SITE_DIR")
    if given:
        return Path(given)
    site = tmp_path_factory.mktemp("full-site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "LLM_GUIDE_PROFILE": "full"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, f"mkdocs build --strict (full model) failed:\n{proc.stdout}\n{proc.stderr}"
    return site
