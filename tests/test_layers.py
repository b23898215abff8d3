"""The layers point one way: schemas imports nothing of the project; transforms and validation import
only schemas (and not each other); pipelines wires them. Checked by import-linter's layers contract
(``.importlinter``), which reads every import, those inside functions included."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def test_imports_follow_the_layers():
    pytest.importorskip("importlinter")
    script = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(script)], cwd=PROJECT, capture_output=True, text=True,
                            env={"PATH": "", "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout, result.stdout
