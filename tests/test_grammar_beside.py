"""The grammar check gives the same release whether it runs in the gate's process (a fresh CLI build of a
spec that never loads spaCy otherwise) or in the build's own process (spaCy already loaded there)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, file_digests


@pytest.mark.slow
def test_grammar_beside_the_expansion_gives_the_same_release(tmp_path):
    pytest.importorskip("spacy")  # imported in this process: an in-process build checks grammar here
    from pipelines.build import build_release
    from pipelines.spec import load_spec

    spec_path = str(PROJECT / "configs" / "decisions.yaml")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", spec_path, "--out", str(tmp_path / "cli"),
                           "--progress", "on"], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    grammar_line = next(line for line in done.stderr.splitlines() if line.startswith("[grammar]"))
    assert "probe sentences" in grammar_line and grammar_line.endswith("(beside the expansion)")
    here = build_release(load_spec(spec_path), out_dir=str(tmp_path / "here"))
    assert file_digests(Path(here.release_dir)) == file_digests(Path(done.stdout.strip().splitlines()[-1]))
    grammar = here.validation["checks"][-1]
    assert grammar["name"] == "grammar" and grammar["details"]["probes"] > 0
