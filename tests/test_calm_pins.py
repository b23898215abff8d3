"""CALM inputs fetched from a pinned commit and checked by sha256, against a loopback server.

The server (started here, 127.0.0.1 only) serves CALM's published files, read in place from
../shared, under the repository paths of the pinned commit, like raw.githubusercontent.com.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from pipelines.manifest import input_hashes
from pipelines.spec import load_spec
from schemas.errors import InputError
from transforms import calm_inputs
from transforms.calm_inputs import PINNED, SOURCE_COMMIT, locate, pinned_sha256

from conftest import PROJECT


class _Mirror(http.server.ThreadingHTTPServer):
    """``/<commit>/<repository path>`` -> the published file; ``tampered`` paths get one byte changed."""

    def __init__(self, calm_dir: Path):
        self.files = {f"/{SOURCE_COMMIT}/{upstream}": calm_dir / local for local, (upstream, _) in PINNED.items()}
        self.tampered: set[str] = set()
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook's name
        self.server.requests.append(self.path)
        path = self.server.files.get(self.path)
        if path is None:
            self.send_error(404)
            return
        body = path.read_bytes()
        if self.path in self.server.tampered:
            body = body[:-1] + bytes([body[-1] ^ 1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(calm_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("BIASBENCH_CACHE", str(tmp_path / "cache"))
    server = _Mirror(calm_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_pins_are_the_published_files(calm_dir):
    """Every pinned sha256 is that of CALM's published file of the same name."""
    for local, (_, sha) in PINNED.items():
        assert hashlib.sha256((calm_dir / local).read_bytes()).hexdigest() == sha, local


def test_fetch_checks_and_caches(mirror, tmp_path, calm_dir):
    empty = tmp_path / "no-data"
    path = locate("templates/qa_templates.json", str(empty), {"url": mirror.url})
    assert Path(path).read_bytes() == (calm_dir / "templates/qa_templates.json").read_bytes()
    assert mirror.requests == [f"/{SOURCE_COMMIT}/bias_dataset/qa_templates.json"]
    assert locate("templates/qa_templates.json", str(empty), {"url": mirror.url}) == path
    assert len(mirror.requests) == 1  # the second use reads the checked cache


def test_tampered_download_is_refused_and_not_cached(mirror, tmp_path):
    mirror.tampered.add(f"/{SOURCE_COMMIT}/evaluation/gt/gt_sentiment_gender.csv")
    with pytest.raises(InputError) as e:
        locate("gt/gt_sentiment_gender.csv", str(tmp_path / "no-data"), {"url": mirror.url})
    message = str(e.value)
    assert message.startswith("CALM input gt/gt_sentiment_gender.csv: http://127.0.0.1:")
    assert PINNED["gt/gt_sentiment_gender.csv"][1] in message and message.count("sha256") == 1
    assert "expected" in message and len([w for w in message.split() if len(w.strip(",")) == 64]) == 2
    cache = tmp_path / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_tampered_cache_is_refused(mirror, tmp_path):
    relative = "names/unisex/unisex_names_table.csv"
    cached = Path(calm_inputs.cache_dir()) / relative
    cached.parent.mkdir(parents=True)
    cached.write_text("name,gap\nAlex,0.0\n")
    with pytest.raises(InputError, match=rf"{relative}: the cached copy {cached} has sha256 "
                                         rf"{hashlib.sha256(cached.read_bytes()).hexdigest()}, expected "
                                         rf"{PINNED[relative][1]}"):
        locate(relative, str(tmp_path / "no-data"), {"url": mirror.url})
    assert mirror.requests == []


def test_unpinned_file_is_not_fetched(mirror, tmp_path):
    with pytest.raises(InputError, match="not one of the files pinned"):
        locate("templates/other_templates.json", str(tmp_path), {"url": mirror.url})
    assert mirror.requests == []


def test_calm_build_without_data_dir_uses_checked_fetches(mirror, tmp_path, calm_dir):
    """The corrected CALM spec's templates and name tables load through the mirror; the manifest's
    input hashes of a fetched build equal those of a build from --data-dir."""
    from transforms.load import import_templates, load_lexicon  # what phase 1's import and load stages call

    spec = load_spec("calm")
    for t in spec.template_files:
        t.options = {**t.options, "fetch": {"url": mirror.url}}
        assert len(list(import_templates(t, spec.resolve(t.path)))) > 50
    for lx in spec.lexicons:
        lx.options = {**lx.options, "fetch": {"url": mirror.url}}
        assert len(load_lexicon(lx, spec.resolve(lx.path))) > 100
    fetched = {p.relative_to(tmp_path / "cache" / "calm" / SOURCE_COMMIT).as_posix()
               for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert fetched == {"templates/qa_templates.json", "templates/nli_templates.json",
                       "templates/sentiment_templates.json", "gt/gt_sentiment_gender.csv",
                       "names/categorised_data/segregated_names.csv", "names/unisex/unisex_names_table.csv",
                       "names/categorised_data/names_race_categorisation.csv", "names/ssa/yob2020.txt",
                       "names/ssa/yob2021.txt"}
    remote = input_hashes(spec)
    local = input_hashes(load_spec("calm", data_dir=str(calm_dir)))
    assert remote == local
    assert set(remote) == {"templates/qa_templates.json", "templates/nli_templates.json",
                           "templates/sentiment_templates.json", "gt/gt_sentiment_gender.csv", "names"}
    assert remote["names"] == pinned_sha256("names")


def test_shipped_calm_specs_fetch_only_pinned_files():
    for name in ("calm", "calm-v1"):
        spec = load_spec(str(PROJECT / "configs" / f"{name}.yaml"))
        for t in spec.template_files:
            assert t.path in PINNED and t.options.get("labels_from", t.path) in PINNED
        for lx in spec.lexicons:
            assert pinned_sha256(lx.path)
