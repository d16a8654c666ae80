"""Linters over the project's own code: the tree stays free of unused imports,
unused variables and dead code. Configuration: pyproject.toml's [tool.ruff]
(Python), eslint.config.js (JavaScript)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_lint():
    assert ESLINT.exists(), "eslint is missing: run `npm ci` (scripts/setup.sh does)"
    proc = subprocess.run([str(ESLINT), "docs/javascripts", "tests/js", "sitebuild", "eslint.config.js"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_lint():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
