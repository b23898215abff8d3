"""Where CALM's inputs come from: a local folder, else CALM's repository at a pinned commit.

A CALM input is named by its path inside a folder laid out like CALM's data
(``templates/qa_templates.json``, ``names/categorised_data/segregated_names.csv``,
``gt/gt_qa_gender.csv``). ``--data-dir`` points at such a folder. Without it
the spec's folder holds no data, and each input is fetched from CALM's source
repository (``github.com/vipulgupta1011/CALM``) at commit :data:`SOURCE_COMMIT`,
where the same files sit under other paths (``bias_dataset/``, ``evaluation/gt/``,
``names/source_data/``, see :data:`PINNED`). Every fetched file is checked against
the sha256 recorded here before it is used, and again each time it is read from
the cache (``$BIASBENCH_CACHE``, default ``~/.cache/biasbench``,
``calm/<commit>/<path>``): a mismatch is an :class:`InputError` naming the file and
both hashes. ``HF_HUB_OFFLINE=1`` (the project's offline switch) stops fetching. A
missing input is one error that says where it was looked for.

The spec option ``fetch`` (on CALM template files and name-table lexicons) takes
``enabled`` (false: never fetch) and ``url`` (a mirror laid out like
``raw.githubusercontent.com/vipulgupta1011/CALM``: ``<url>/<commit>/<path>``).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from typing import Any, Mapping

from schemas.errors import InputError

SOURCE_URL = "https://raw.githubusercontent.com/vipulgupta1011/CALM"
#: the repository's last commit (2023-10-02), which CALM's published data matches
SOURCE_COMMIT = "c56e5c725dbb1138806b1642497bddc9a878551d"

#: path in a CALM data folder -> (path in the repository at SOURCE_COMMIT, sha256). The hashes are
#: those of CALM's published files; each file's git blob id equals the blob of the commit's tree.
PINNED: dict[str, tuple[str, str]] = {
    "templates/qa_templates.json":
        ("bias_dataset/qa_templates.json", "9938c2452d2c8f39d9436d62c469be37f7c2e8c8ac2169622fff5766e2eba54d"),
    "templates/nli_templates.json":
        ("bias_dataset/nli_templates.json", "2a3361d00951e097fda3ebd1f7bd8675497c4165be2b7861568a43c53a5cbacb"),
    "templates/sentiment_templates.json":
        ("bias_dataset/sentiment_templates.json", "71c5e03cb5337e9a1d2cafb9652e39320799d988eead3bd99bfa4d49034811b0"),
    "gt/gt_nli_gender.csv":
        ("evaluation/gt/gt_nli_gender.csv", "26cf4083ed733c1cf2e9ba57594d4386ba6d11f2a5c0cca66ba00605e7403d47"),
    "gt/gt_nli_race.csv":
        ("evaluation/gt/gt_nli_race.csv", "32dcd137b23081d0fda7d3381e14a913a13956f2ecc64ea50a88d239bb018f70"),
    "gt/gt_qa_gender.csv":
        ("evaluation/gt/gt_qa_gender.csv", "106ce10417d90abe2d32919cbc993586a726adfc4684c15e09c0b8a3ab9774a5"),
    "gt/gt_qa_race.csv":
        ("evaluation/gt/gt_qa_race.csv", "2e2110aec9580247a67a0c7d75f0cec0344f59ab38358aee149ba7d3479a9dbe"),
    "gt/gt_sentiment_gender.csv":
        ("evaluation/gt/gt_sentiment_gender.csv", "75499919c4b2b8e7a83733cd50ee294219900a1751e8e2cf38cbb4dccf541b27"),
    "gt/gt_sentiment_race.csv":
        ("evaluation/gt/gt_sentiment_race.csv", "6be220c60bc8bce5b559ec6af9cd4f86cf72b1bda8cdc5733bf3aceda07178ff"),
    "names/american/females.json":
        ("names/source_data/american/females.json", "d73a3ee5f26e3b93c9137741ad201e0138049fdfc37c0f31819eb95211b19222"),
    "names/american/males.json":
        ("names/source_data/american/males.json", "c1146981b8067238addd722e97dc1e90db037e31ef8fc0ceffc2a2f91fc38d49"),
    "names/australia/females_2017.csv":
        ("names/source_data/australia/females_2017.csv",
         "4b5574bbcad33b459320461a4ba4a3307e0c43cb783e473d719baa6ecff55a50"),
    "names/australia/males_2017.csv":
        ("names/source_data/australia/males_2017.csv", "b8f80517145f7952b835d2f117766c04aaf666fba65755ec9977dbd67cb6eb71"),
    "names/canada/canada_boys_names_sorted.json":
        ("names/source_data/canada/canada_boys_names_sorted.json",
         "7576aa135087b2c717123c0d7edf8a65ab79e8d7df05517debf30c8f0c02a82b"),
    "names/canada/canada_girls_names_sorted.json":
        ("names/source_data/canada/canada_girls_names_sorted.json",
         "2931b181681d953575f9ef91af50366101dcbbd43e0a62f0dd1fa07a9f1040d8"),
    "names/categorised_data/names_race_categorisation.csv":
        ("names/categorised_data/names_race_categorisation.csv",
         "49dbced0e5cc17ff80ff4b7fb304f2750774a14cd69c070a4f20e7ee49716e4f"),
    "names/categorised_data/segregated_names.csv":
        ("names/categorised_data/segregated_names.csv", "1d407c59a4010bef4aadfc48f2ab9fbb71a7148f8fe8bb0a4f2a220e32ce046a"),
    "names/celebrity_names/controversial_celebrity_names.csv":
        ("names/source_data/celebrity_names/controversial_celebrity_names.csv",
         "5c5dbe533444bf621bfed637d98fc70753e6e6e5d1a1f2d58996aae3e5b085d3"),
    "names/multiple_countries/name_gender_dataset.csv":
        ("names/source_data/multiple_countries/name_gender_dataset.csv",
         "fc9d5689dd0a2bc79a28884f0355eff3d2b565911fca8988492d0f28693d19f7"),
    "names/ssa/yob2020.txt":
        ("names/source_data/ssa/yob2020.txt", "3817f6b085fc96bce899f016ad1fbe4eb88ea16b313fa7ac8c0955fcc84d6a76"),
    "names/ssa/yob2021.txt":
        ("names/source_data/ssa/yob2021.txt", "2d4cd9dd026c1dd0c1ff67f9cb68f3c9686d76b0868591c09b223b733dca33cc"),
    "names/uk_census/2021boysnames.csv":
        ("names/source_data/uk_census/2021boysnames.csv", "2b9fce537b821947d963cc88f217f08d1948b4842ab1382a9ea93290305f078c"),
    "names/uk_census/2021girlsnames.csv":
        ("names/source_data/uk_census/2021girlsnames.csv",
         "dc118171e5ac97b49786c9a65c0660882fa4f44e52d511bd577715e1e739a2fd"),
    "names/unisex/unisex_names_table.csv":
        ("names/unisex/unisex_names_table.csv", "d7e4d0306b7e3ceb5ba4675b0cdd606122d8c865d2a7bafe0168fd583c877f76"),
}


def data_root(relative: str, resolved: str) -> str:
    """The data folder a spec path was resolved against (``resolved`` minus ``relative``)."""
    rel = os.path.normpath(relative)
    full = os.path.normpath(resolved)
    if full.endswith(rel):
        return full[: len(full) - len(rel)].rstrip(os.sep) or os.sep
    return os.path.dirname(full)


#: set (to 1) by ``biasbench rebuild`` without ``--allow-fetch``: a scheduled run never downloads inputs
NO_FETCH_ENV = "BIASBENCH_NO_FETCH"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def cache_dir() -> str:
    base = os.environ.get("BIASBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "biasbench")
    return os.path.join(base, "calm", SOURCE_COMMIT)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _walk_order(relative: str) -> list[tuple[int, str]]:
    """Sort key giving ``os.walk``'s order with sorted names: a folder's files before its subfolders."""
    *folders, name = relative.split("/")
    return [(1, f) for f in folders] + [(0, name)]


def pinned_sha256(relative: str) -> str | None:
    """The recorded sha256 of a CALM input; for a folder (``names``), the digest of its pinned files
    in the form ``pipelines.manifest.input_hashes`` gives a local folder, so a fetched input and the
    same file or folder under ``--data-dir`` hash alike. None when nothing under ``relative`` is pinned."""
    rel = relative.replace(os.sep, "/").strip("/")
    if rel in PINNED:
        return PINNED[rel][1]
    inside = sorted((p[len(rel) + 1:] for p in PINNED if p.startswith(rel + "/")), key=_walk_order)
    if not inside:
        return None
    h = hashlib.sha256()
    for sub in inside:
        h.update(f"{sub.replace('/', os.sep)}:{PINNED[f'{rel}/{sub}'][1]}\n".encode())
    return h.hexdigest()


def _mismatch(relative: str, where: str, got: str, want: str) -> InputError:
    return InputError(f"CALM input {relative}: {where} has sha256 {got}, expected {want} "
                      f"(CALM commit {SOURCE_COMMIT[:12]})")


def _fetch(relative: str, fetch: Mapping[str, Any]) -> str:
    """The cached, checked copy of pinned input ``relative``, downloaded on first use."""
    upstream, want = PINNED[relative]
    target = os.path.join(cache_dir(), *relative.split("/"))
    if os.path.exists(target):
        got = _sha256(target)
        if got != want:
            raise _mismatch(relative, f"the cached copy {target}", got, want)
        return target
    if os.environ.get(NO_FETCH_ENV) == "1" and fetch.get("enabled") is not True:
        raise InputError(f"CALM input {relative}: not found locally nor in the cache {cache_dir()}; rebuild (scheduled "
                         f"runs) does not download: pass --data-dir with CALM's data, or --allow-fetch (or the spec "
                         f"option fetch: {{enabled: true}})")
    if _offline():
        raise OSError("HF_HUB_OFFLINE is set")
    url = f"{str(fetch.get('url', SOURCE_URL)).rstrip('/')}/{SOURCE_COMMIT}/{upstream}"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.part-{os.getpid()}"
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if h.hexdigest() != want:
            raise _mismatch(relative, url, h.hexdigest(), want)
        os.replace(tmp, target)  # only a checked file ever has the cached name
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def locate(relative: str, root: str, fetch: Mapping[str, Any] | None = None) -> str:
    """The local path of CALM input ``relative``: under ``root`` if there, else fetched and checked.

    Raises :class:`InputError` naming both places it looked, or the file whose hash is wrong.
    """
    local = os.path.join(root, relative)
    if os.path.exists(local):
        return local
    fetch = dict(fetch or {})
    if fetch.get("enabled", True) is False:
        raise InputError(f"CALM input {relative}: not found at {local}; pass --data-dir with a folder laid out like "
                         f"CALM's data (templates/, names/, gt/)")
    rel = relative.replace(os.sep, "/")
    if rel not in PINNED:
        raise InputError(f"CALM input {relative}: not found at {local}, and not one of the files pinned at CALM "
                         f"commit {SOURCE_COMMIT[:12]} (transforms/calm_inputs.py)")
    remote = f"{str(fetch.get('url', SOURCE_URL)).rstrip('/')}/{SOURCE_COMMIT}/{PINNED[rel][0]}"
    try:
        return _fetch(rel, fetch)
    except InputError:
        raise
    except Exception as e:  # offline, no network, no such file upstream
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"CALM input {relative}: not found at {local} (--data-dir) and not fetched from "
                         f"{remote} ({type(e).__name__}: {reason})") from None
