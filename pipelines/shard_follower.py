"""Configs' figures computed by whichever of the two processes gets to them first.

The driver spends the expansion writing shards on one core; the gate's process, once its earlier
work is done (Great Expectations' import, the grammar check), has the other core. It follows the
shards' completion markers (``transforms.shard_summaries.finished_shards``, the same hand-off
through the filesystem the driver reads) and, as soon as the last shard of a config is written,
merges that config's tallies in shard order and computes its report
(``validation.stats.spec_config_stats``): the distinct-n, self-BLEU and similarity figures over the
config's text sample are most of what ``compute_stats`` costs. The driver, once the expansion (and
any work only it can do) is over, takes configs too (``driver_config_stats``), so the two share them
however the machine's load falls: a gate still busy with a long grammar check leaves every config to
the driver, an idle one takes most of them. Each takes the largest it can first. stats.png
(``validation.stats.plot_stats``: the picture needs only the tallies and the templates) is drawn by
whichever process is free first once every shard is written: the gate's process, when it is
following the shards by then, draws it first while the driver goes on with the figures; a driver
done with its figures while the gate's process is still checking grammar (calm-v1: the gate's
process parsed for 1.2 s after the driver's last figure, then imported matplotlib and drew, while
the driver waited 1 s) draws it itself. The picture is claimed exclusively (``claim_once``): one
process draws it, never both. So is the dataset card: a gate's process that runs out of configs while
the driver still computes some (holistic-bias: 0.2 s idle at the end) prepares the card (``prepare_card``:
the Hub's card module imported, the template compiled) and later renders it after judging the gate;
otherwise the driver does, while it waits.

Each process claims a config with a marker under the shards' summaries before computing it
(``CLAIMS_DIR``): the gate's process writes its claim and then backs off if the driver's is there;
the driver skips a config the gate's process has claimed and otherwise claims and computes it. So
every config is computed at least once; in the one race (each looks before the other writes) both
compute it, and the driver keeps its own. Both merge the same tallies in the same order, so
stats.json is byte for byte what one process would have written.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterable, Mapping

from schemas import storage
from schemas.tally import SAMPLE_ROWS, merged, tally_from_state
from transforms.shard_summaries import SUMMARY_DIR, finished_shards, read_tally
from pipelines.plots import import_matplotlib, write_png
from validation.stats import plot_stats, read_templates, resolve_similarity_method, spec_config_stats

#: under the shards' summaries: one empty marker per config a process has claimed, ``<who>.<config>``
CLAIMS_DIR = "_claims"
GATE, DRIVER = "gate", "driver"
PNG_CLAIM = "stats.png"  # under CLAIMS_DIR: whoever created it draws the picture
CARD_CLAIM = "README.md"  # under CLAIMS_DIR: whoever created it renders the dataset card
TEMPLATES_FILE = "templates.parquet"  # the driver writes it before the first shard; it stays in the release
#: seconds between two looks at the markers: a local folder is cheap to list, an object store is not
POLL_SECONDS = {"local": 0.05, "remote": 1.0}


def claim(staging_dir: str, who: str, config: str) -> None:
    storage.write_bytes(storage.join(staging_dir, SUMMARY_DIR, CLAIMS_DIR, f"{who}.{config}"), b"")


def claimed(staging_dir: str, who: str, config: str) -> bool:
    return storage.exists(storage.join(staging_dir, SUMMARY_DIR, CLAIMS_DIR, f"{who}.{config}"))


def claim_once(staging_dir: str, what: str, who: str) -> bool:
    """Claim ``what`` (``PNG_CLAIM``, ``CARD_CLAIM``) for ``who``: True for the first process to ask, False for
    the other. Created exclusively (only a local staging folder has these shared between the processes)."""
    folder = os.path.join(staging_dir, SUMMARY_DIR, CLAIMS_DIR)
    os.makedirs(folder, exist_ok=True)
    try:
        fd = os.open(os.path.join(folder, what), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(who)
    return True


def claimed_once(staging_dir: str, what: str) -> bool:
    return os.path.exists(os.path.join(staging_dir, SUMMARY_DIR, CLAIMS_DIR, what))


def import_matplotlib_unless_claimed(staging_dir: str) -> None:
    """``import_matplotlib`` ahead of drawing stats.png, unless the driver has already claimed the drawing."""
    if not claimed_once(staging_dir, PNG_CLAIM):
        import_matplotlib()


def figures_cost(tallies: Iterable[Any]) -> int:
    """What computing a config's figures costs, roughly: its text sample's rows (``SAMPLE_ROWS`` at most)."""
    return min(sum(t.rows for t in tallies), SAMPLE_ROWS)


def follow_config_stats(staging_dir: str, spec, shards: Mapping[str, int], png_path: str | None = None,
                        card: bool = False) -> dict[str, dict[str, Any]]:
    """``{config: report}`` for the configs of ``shards`` (config -> its number of shards) that the driver
    has not claimed, each computed once its shards' markers are all written, the largest ready one
    first; returns when every config is computed here or claimed by the driver.

    ``png_path``: once every shard is written, stats.png is drawn there first (``plot_stats``: what the
    picture shows is known from the tallies alone), while the driver takes configs' figures, unless the
    driver has claimed the drawing (``claim_once``) by then. ``card``: once nothing is left to compute here,
    claim the dataset card for this process unless the driver has, and prepare it (``prepare_card``).

    Raises when the staging folder loses its templates.parquet (written before the first shard; a
    failed build removes the folder) or the process that submitted this one is gone, so a failed build
    never leaves this loop running."""
    parent = os.getppid()
    poll = POLL_SECONDS["remote" if storage.is_remote(staging_dir) else "local"]
    by_config = {c.name: c for c in spec.configs}
    method = resolve_similarity_method(spec)
    templates = None
    read: dict[str, dict[int, Any]] = {name: {} for name in shards}  # shard tallies, until their config is whole
    whole: dict[str, Any] = {}  # configs whose every shard is read: their merged tally
    reports: dict[str, dict[str, Any]] = {}
    theirs: set[str] = set()  # configs the driver claimed
    while True:
        busy = False
        if png_path is not None and claimed_once(staging_dir, PNG_CLAIM):  # the driver draws it
            png_path = None
        for config, index in finished_shards(staging_dir):
            wanted = png_path is not None or (config not in reports and config not in theirs)
            if config in read and config not in whole and index not in read[config] and wanted:
                read[config][index] = tally_from_state(read_tally(staging_dir, config, index))
                busy = True
        for config in [c for c in shards if c not in whole and len(read[c]) == shards[c]]:
            tallies, read[config] = read[config], {}
            whole[config] = merged(tallies[i] for i in range(shards[config]))  # in shard order
        if png_path is not None and len(whole) == len(shards):
            if claim_once(staging_dir, PNG_CLAIM, GATE):
                if templates is None:
                    templates = read_templates(staging_dir)
                write_png([(spec.benchmark, plot_stats(spec, whole, templates, method))], png_path)
            png_path, busy = None, True
        ready = [c for c in whole if c not in reports and c not in theirs]
        if ready:  # the largest, then a fresh look: the driver may have claimed others meanwhile
            config = max(ready, key=lambda c: figures_cost([whole[c]]))
            busy = True
            claim(staging_dir, GATE, config)
            if claimed(staging_dir, DRIVER, config):
                theirs.add(config)
            else:
                if templates is None:
                    templates = read_templates(staging_dir)
                reports[config] = spec_config_stats(by_config[config], whole[config], templates, method)
        left = [c for c in shards if c not in reports and c not in theirs]
        theirs.update(c for c in left if claimed(staging_dir, DRIVER, c))
        if len(reports) + len(theirs) == len(shards) and png_path is None:
            if card and claim_once(staging_dir, CARD_CLAIM, GATE):
                from pipelines.card import prepare_card

                prepare_card()
            return reports
        if not busy:
            if os.getppid() != parent or not storage.exists(storage.join(staging_dir, TEMPLATES_FILE)):
                raise RuntimeError(f"{staging_dir}: the build that wrote it is gone; stopped following its shards")
            time.sleep(poll)


def driver_config_stats(staging_dir: str, spec, tallies: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The driver's part of the figures, once every shard is written: each config of ``tallies`` (its merged
    tally) that the gate's process has not claimed, the largest first, claimed here before it is computed
    (every config when no process follows the shards). Both taking the largest first, what is left when
    one of them runs out of configs is the other's smallest: neither waits long for the other."""
    reports: dict[str, dict[str, Any]] = {}
    templates, method = None, resolve_similarity_method(spec)
    mine = [c for c in spec.configs if c.name in tallies]
    for config in sorted(mine, key=lambda c: -figures_cost([tallies[c.name]])):  # stable: spec order in ties
        if claimed(staging_dir, GATE, config.name):
            continue
        claim(staging_dir, DRIVER, config.name)
        if templates is None:
            templates = read_templates(staging_dir)
        reports[config.name] = spec_config_stats(config, tallies[config.name], templates, method)
    return reports
