"""Where CALM's inputs come from: a local folder, else CALM's public Hub and repository files.

A CALM input is named by its path inside a folder laid out like CALM's data
(``templates/qa_templates.json``, ``names/categorised_data/segregated_names.csv``,
``gt/gt_qa_gender.csv``, ``release/gender_datasets/qa_gender_dataset.jsonl``).
``--data-dir`` points at such a folder. Without it the spec's folder holds no
data, and each input is fetched into the Hugging Face cache instead:

- the published rows (``release/…``) from CALM's dataset repository on the Hub
  (``vipulgupta/CALM``, files ``data/<axis>_datasets/…``), with ``hf_hub_download``;
- templates, name tables and ground truth from CALM's source repository
  (``raw.githubusercontent.com/vipulgupta1011/CALM/<revision>/<path>``), downloaded
  once into ``$HF_HUB_CACHE/biasbench-calm/<revision>/<path>``.

Both honour ``HF_HUB_OFFLINE=1``. A missing input is one error that says where
it was looked for.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from typing import Any, Mapping

from schemas.errors import InputError

HUB_REPO = "vipulgupta/CALM"
HUB_REVISION = "main"
SOURCE_REPO_RAW = "https://raw.githubusercontent.com/vipulgupta1011/CALM"
SOURCE_REVISION = "main"


def data_root(relative: str, resolved: str) -> str:
    """The data folder a spec path was resolved against (``resolved`` minus ``relative``)."""
    rel = os.path.normpath(relative)
    full = os.path.normpath(resolved)
    if full.endswith(rel):
        return full[: len(full) - len(rel)].rstrip(os.sep) or os.sep
    return os.path.dirname(full)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _fetch(relative: str, hub: Mapping[str, Any]) -> str:
    rel = relative.replace(os.sep, "/")
    if rel.startswith("release/"):
        from huggingface_hub import hf_hub_download

        return hf_hub_download(repo_id=hub.get("repo_id", HUB_REPO), repo_type="dataset",
                               filename="data/" + rel[len("release/"):], revision=hub.get("revision", HUB_REVISION))
    if _offline():
        raise OSError("HF_HUB_OFFLINE is set")
    from huggingface_hub import constants

    revision = hub.get("source_revision", SOURCE_REVISION)
    target = os.path.join(constants.HF_HUB_CACHE, "biasbench-calm", revision, rel)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        url = f"{hub.get('source_url', SOURCE_REPO_RAW)}/{revision}/{rel}"
        tmp = target + ".part"
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        os.replace(tmp, target)
    return target


def locate(relative: str, root: str, hub: Mapping[str, Any] | None = None) -> str:
    """The local path of CALM input ``relative``: under ``root`` if there, else fetched.

    Raises :class:`InputError` naming both places it looked.
    """
    local = os.path.join(root, relative)
    if os.path.exists(local):
        return local
    hub = dict(hub or {})
    if hub.get("enabled", True) is False:
        raise InputError(f"CALM input {relative}: not found at {local}; pass --data-dir with a folder laid out like "
                         f"CALM's data (templates/, names/, gt/, release/)")
    remote = (f"hf://datasets/{hub.get('repo_id', HUB_REPO)}/data/{relative[len('release/'):]}"
              if relative.startswith("release/") else
              f"{hub.get('source_url', SOURCE_REPO_RAW)}/{hub.get('source_revision', SOURCE_REVISION)}/{relative}")
    try:
        return _fetch(relative, hub)
    except Exception as e:  # offline, no network, no such file upstream
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"CALM input {relative}: not found at {local} (--data-dir) and not fetched from "
                         f"{remote} ({type(e).__name__}: {reason})") from None
