"""Each config's figures computed in the gate's process while the shards are written
(``pipelines.shard_follower``) give the release the driver gives computing them itself."""

import pickle
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.build import build_release
from pipelines.shard_follower import follow_config_stats
from pipelines.spec import load_spec
from schemas import storage
from schemas.tally import RowTally, merged, tally_state
from tests.conftest import file_digests
from tests.small_specs import write_small_spec
from transforms.shard_summaries import SUMMARY_DIR
from validation.stats import spec_config_stats
from validation.worker import GateWorker


class RecordingGate(GateWorker):
    """A real gate worker that notes the name of every function submitted to it."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.submitted = []

    def submit(self, fn, *args):
        self.submitted.append(getattr(fn, "__name__", repr(fn)))
        return super().submit(fn, *args)


def _two_config_spec(folder: Path) -> Path:
    config = {"task": "sentiment", "axis": "gender", "lexicon": "names",
              "groups": [{"name": "female"}, {"name": "male"}], "design": {"strategy": "all"}}
    return write_small_spec(folder, configs=[{"name": "first", **config}, {"name": "second", **config}],
                            release={"rows_per_shard": 4})  # 18 rows a config, in several shards


def test_figures_computed_beside_the_expansion_give_the_release_the_driver_gives(tmp_path):
    # with spaCy loaded here the build checks grammar in this process, and the gate's process follows the shards
    pytest.importorskip("spacy")
    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    beside = RecordingGate(warm=False)
    try:
        followed = build_release(spec, out_dir=str(tmp_path / "beside"), gate=beside)
    finally:
        beside.close()
    assert "follow_config_stats" in beside.submitted
    here = RecordingGate(warm=False)
    here.close()  # a closed worker runs what it is given in this process: the driver computes the figures
    driven = build_release(spec, out_dir=str(tmp_path / "here"), gate=here)
    assert "follow_config_stats" not in here.submitted
    assert len(followed.configs["first"]["files"]) > 1  # figures merged from several shards
    assert file_digests(Path(followed.release_dir)) == file_digests(Path(driven.release_dir))
    assert not (Path(followed.release_dir) / SUMMARY_DIR).exists()


def _shard_tally(rows: list[tuple[str, str]], first_row: int) -> RowTally:
    tally = RowTally("sentence", ["example_id"], 1, first_row)
    tally.add(pa.table({"example_id": [f"x{first_row + i}" for i in range(len(rows))],
                        "template_id": ["t1"] * len(rows), "group": [g for g, _ in rows],
                        "sentence": [s for _, s in rows], "source_dataset": ["own"] * len(rows)}))
    return tally


def _templates_file(staging: str) -> None:
    """What the driver writes before the first shard (here without templates); the follower stops without it."""
    import pyarrow.parquet as pq

    from schemas.records import templates_table

    storage.makedirs(staging)
    pq.write_table(templates_table([]), storage.join(staging, "templates.parquet"))


def _write_marker(staging: str, config: str, index: int, tally: RowTally) -> None:
    root = storage.join(staging, SUMMARY_DIR, config)
    storage.write_bytes(storage.join(root, f"{index:06d}.tally.pickle"), pickle.dumps(tally_state(tally)))
    storage.write_json(storage.join(root, f"{index:06d}.json"), {"config": config, "index": index})


def test_a_config_is_reported_once_its_last_shard_is_written_from_its_shards_in_order(tmp_path):
    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    staging = str(tmp_path / "staging")
    _templates_file(staging)
    shards = [[("female", "Mary loved the film."), ("male", "John loved the film.")],
              [("female", "Anna said the meal was cold."), ("male", "Omar said the meal was cold.")]]
    _write_marker(staging, "first", 1, _shard_tally(shards[1], 2))  # the later shard lands first
    _write_marker(staging, "second", 0, _shard_tally(shards[0], 0))

    def the_rest():
        time.sleep(0.5)
        _write_marker(staging, "first", 0, _shard_tally(shards[0], 0))

    writer = threading.Thread(target=the_rest)
    writer.start()
    reports = follow_config_stats(staging, spec, {"first": 2, "second": 1})
    writer.join()
    config = {c.name: c for c in spec.configs}
    expected = spec_config_stats(config["first"], merged([_shard_tally(shards[0], 0), _shard_tally(shards[1], 2)]),
                                 {}, "tfidf-cosine")
    assert reports["first"] == expected and reports["first"]["rows"] == 4
    assert reports["second"]["rows"] == 2


def test_following_stops_when_the_staging_folder_is_removed(tmp_path):
    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    staging = tmp_path / "staging"
    _templates_file(str(staging))
    _write_marker(str(staging), "first", 0, _shard_tally([("female", "Mary loved it.")], 0))
    threading.Timer(0.3, lambda: storage.delete_tree(str(staging))).start()
    with pytest.raises(RuntimeError, match="the build that wrote it is gone"):
        follow_config_stats(str(staging), spec, {"first": 2})


def test_each_process_takes_the_largest_config_the_other_has_not_claimed(tmp_path):
    from pipelines.shard_follower import DRIVER, GATE, claim, claimed, driver_config_stats

    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    shards = {"first": [("female", "Mary loved the film."), ("male", "John loved the film.")],
              "second": [("female", "Anna said the meal was cold."), ("male", "Omar said the meal was cold.")]}
    shards["first"].append(("female", "Anna ate."))  # the larger config
    tallies = {c: _shard_tally(rows, 0) for c, rows in shards.items()}
    config = {c.name: c for c in spec.configs}
    expected = {c: spec_config_stats(config[c], tallies[c], {}, "tfidf-cosine") for c in shards}

    # a gate's process still busy elsewhere: the driver claims and computes every config, largest first, and the
    # gate's process, reaching its task late, computes nothing (it claims, sees the driver's claim, backs off)
    busy = str(tmp_path / "busy")
    _templates_file(busy)
    got = driver_config_stats(busy, spec, tallies)
    assert list(got) == ["first", "second"] and got == expected
    for c, rows in shards.items():
        _write_marker(busy, c, 0, tallies[c])
    assert follow_config_stats(busy, spec, {"first": 1, "second": 1}) == {}

    # the gate's process got to "first": the driver computes only "second"; the gate's process, told the
    # driver has "second", returns "first" alone without waiting for "second"'s shards
    shared = str(tmp_path / "shared")
    _templates_file(shared)
    _write_marker(shared, "first", 0, tallies["first"])
    claim(shared, GATE, "first")
    assert driver_config_stats(shared, spec, tallies) == {"second": expected["second"]}
    assert claimed(shared, DRIVER, "second") and not claimed(shared, DRIVER, "first")
    assert follow_config_stats(shared, spec, {"first": 1, "second": 1}) == {"first": expected["first"]}

    # a driver that has claimed nothing: the gate's process computes both, the larger first (here "second")
    free = str(tmp_path / "free")
    _templates_file(free)
    smaller_first = {"first": _shard_tally(shards["first"][:1], 0), "second": tallies["second"]}
    for c in ("first", "second"):
        _write_marker(free, c, 0, smaller_first[c])
    got = follow_config_stats(free, spec, {"first": 1, "second": 1})
    assert list(got) == ["second", "first"] and got["second"] == expected["second"]


def test_stats_png_is_drawn_once_by_whichever_process_claims_it_first(tmp_path):
    from pipelines.shard_follower import DRIVER, GATE, PNG_CLAIM, claim_once

    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    tallies = {"first": _shard_tally([("female", "Mary loved the film."), ("male", "John loved the film.")], 0),
               "second": _shard_tally([("female", "Anna ate."), ("male", "Omar ate.")], 0)}
    for who, staging in ((DRIVER, tmp_path / "driver-first"), (GATE, tmp_path / "gate-first")):
        _templates_file(str(staging))
        for c, tally in tallies.items():
            _write_marker(str(staging), c, 0, tally)
        png = staging / "stats.png"
        if who == DRIVER:
            assert claim_once(str(staging), PNG_CLAIM, DRIVER)
        follow_config_stats(str(staging), spec, {"first": 1, "second": 1}, str(png))
        assert png.exists() == (who == GATE)  # the gate's process draws only a picture no one claimed
        assert not claim_once(str(staging), PNG_CLAIM, DRIVER) and not claim_once(str(staging), PNG_CLAIM, GATE)


def test_a_driver_done_while_the_gate_is_busy_draws_the_same_stats_png(tmp_path, monkeypatch):
    import pipelines.build

    pytest.importorskip("spacy")
    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    drawn_here = []
    draw = pipelines.build.write_png
    monkeypatch.setattr(pipelines.build, "write_png", lambda *a: drawn_here.append(a[1]) or draw(*a))
    busy = GateWorker(warm=False)
    try:
        busy.submit(time.sleep, 4)  # the gate's process is still at earlier work when the driver's figures are done
        slow = build_release(spec, out_dir=str(tmp_path / "busy"), gate=busy)
    finally:
        busy.close()
    assert [Path(p).name for p in drawn_here] == ["stats.png"]  # drawn by the driver, once
    here = GateWorker(warm=False)
    here.close()
    driven = build_release(spec, out_dir=str(tmp_path / "here"), gate=here)
    assert file_digests(Path(slow.release_dir)) == file_digests(Path(driven.release_dir))


def test_a_gate_out_of_configs_first_renders_the_same_card(tmp_path, monkeypatch):
    # the driver slow to its figures: the gate's process computes every config, claims the card and prepares it,
    # then judges the gate and writes validation.json and README.md; the driver renders nothing
    import pipelines.build
    import pipelines.card

    pytest.importorskip("spacy")
    spec = load_spec(str(_two_config_spec(tmp_path / "spec")))
    driver_figures = pipelines.build.driver_config_stats

    def slow(*args):
        time.sleep(4)
        return driver_figures(*args)

    rendered_here = []
    render = pipelines.card.render_card
    monkeypatch.setattr(pipelines.build, "driver_config_stats", slow)
    monkeypatch.setattr(pipelines.card, "render_card", lambda *a: rendered_here.append(1) or render(*a))
    gate = RecordingGate(warm=False)
    try:
        late = build_release(spec, out_dir=str(tmp_path / "late"), gate=gate)
    finally:
        gate.close()
    assert "judge_and_write_card" in gate.submitted and not rendered_here
    here = GateWorker(warm=False)
    here.close()
    driven = build_release(spec, out_dir=str(tmp_path / "here"), gate=here)
    assert file_digests(Path(late.release_dir)) == file_digests(Path(driven.release_dir))
