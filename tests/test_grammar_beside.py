"""The grammar check gives the same release whether it runs in the gate's process (a fresh CLI build of a
spec that never loads spaCy otherwise) or in the build's own process (spaCy already loaded there)."""

from pathlib import Path

import pytest

from tests.conftest import PROJECT, build_log, file_digests


@pytest.mark.slow
@pytest.mark.xdist_group("decisions")  # on the worker that builds decisions for the session
def test_grammar_beside_the_expansion_gives_the_same_release(shipped_release, tmp_path):
    pytest.importorskip("spacy")  # imported in this process: an in-process build checks grammar here
    from pipelines.build import build_release
    from pipelines.spec import load_spec

    cli = shipped_release("decisions")  # the session's CLI build, in a child process, with --progress on
    grammar_line = next(line for line in build_log(cli).splitlines() if line.startswith("[grammar]"))
    assert "probe sentences" in grammar_line and grammar_line.endswith("(beside the expansion)")
    here = build_release(load_spec(str(PROJECT / "configs" / "decisions.yaml")), out_dir=str(tmp_path / "here"))
    assert file_digests(Path(here.release_dir)) == file_digests(cli)
    grammar = here.validation["checks"][-1]
    assert grammar["name"] == "grammar" and grammar["details"]["probes"] > 0
