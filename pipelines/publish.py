"""Publishing a release to the Hugging Face Hub: one commit, tagged ``v<version>``.

A release is re-validated on disk first (``validation.gate.validate_release``)
and refused if any check fails, so a failed build never reaches the Hub. What
is published comes from that one verified manifest: its version gives the tag,
and exactly the files it lists (plus manifest.json) are uploaded, one
``CommitOperationAdd`` each; nothing else in the folder, dotfiles included, is
ever read for upload. The card goes up with its loading snippet naming the repo
(``pipelines.card.card_for_repo``) and the uploaded manifest lists that card, so
the repo holds a release that validates as it stands. A dry run returns the same plan (files, sizes, tag)
without touching the network. A real run creates the dataset repo if needed,
refuses a version whose tag already exists (releases are immutable), makes one
commit and tags it.

``format_plan(publish_release(release_dir, "org/demo", dry_run=True))`` shows
that plan (``biasbench publish --dry-run``).
"""

from __future__ import annotations

import os
from typing import Any

from schemas.errors import BiasbenchError, InputError, ValidationFailed
from schemas.release import MANIFEST, CorruptManifest, manifest_text, read_manifest


class PublishError(BiasbenchError):
    """The Hub refused or could not be reached: one line naming the repo and why."""


def _files(manifest: dict[str, Any], manifest_bytes: int) -> list[dict[str, Any]]:
    """What is uploaded: the files the manifest lists, and the manifest itself."""
    out = [{"path": e["path"], "bytes": e["bytes"]} for e in manifest["files"]]
    out.append({"path": MANIFEST, "bytes": manifest_bytes})
    return sorted(out, key=lambda f: f["path"])


def _operations(release_dir: str, manifest: dict[str, Any], manifest_body: bytes,
                replaced: dict[str, bytes] | None = None) -> list[Any]:
    """One ``CommitOperationAdd`` per listed file, each checked against the manifest's sha256 once more.

    The operation hashes its file when made; a file swapped since validation is refused here.
    ``replaced`` holds the content uploaded instead of a file (the card written for the repo).
    """
    from huggingface_hub import CommitOperationAdd

    ops = []
    for entry in manifest["files"]:
        content = (replaced or {}).get(entry["path"])
        op = CommitOperationAdd(path_in_repo=entry["path"], path_or_fileobj=content if content is not None
                                else os.path.join(release_dir, entry["path"]))
        if op.upload_info.sha256.hex() != entry["sha256"]:
            raise ValidationFailed(f"{release_dir}: {entry['path']} changed after validation; refusing to publish")
        ops.append(op)
    ops.append(CommitOperationAdd(path_in_repo=MANIFEST, path_or_fileobj=manifest_body))
    return ops


def _explain(exc: Exception) -> str:
    """A one-line reason for a Hub failure."""
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        return "offline mode is on (HF_HUB_OFFLINE=1); unset it to publish"
    if isinstance(exc, errors.LocalTokenNotFoundError):
        return "not logged in: set HF_TOKEN or run `hf auth login`"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return "repository not found, or the token cannot see it"
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return f"not authorised (HTTP {status}): check the token and its write access"
        return f"the Hub answered HTTP {status}: {str(exc).splitlines()[0]}"
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return f"cannot reach the Hub ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _card_for_repo(release_dir: str, manifest: dict[str, Any], repo_id: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and README.md as published to ``repo_id``: the card's loading snippet names the repo.

    The uploaded manifest lists the rewritten card's bytes and sha256 (and is sealed again), so a copy
    downloaded from the Hub validates as a release.
    """
    import hashlib

    from pipelines.card import card_for_repo

    entry = next((e for e in manifest["files"] if e["path"] == "README.md"), None)
    if entry is None:
        return manifest, {}
    with open(os.path.join(release_dir, "README.md"), encoding="utf-8") as f:
        card = card_for_repo(f.read(), repo_id).encode("utf-8")
    files = [dict(e, bytes=len(card), sha256=hashlib.sha256(card).hexdigest()) if e is entry else e
             for e in manifest["files"]]
    return {**manifest, "files": files}, {"README.md": card}


def format_plan(plan: dict[str, Any]) -> str:
    """The plan or result as text, one file per line."""
    lines = [f"{'would publish' if plan['dry_run'] else 'published'} {plan['benchmark']} {plan['version']} "
             f"to {plan['repo_id']} (dataset{', private' if plan['private'] else ''}), tag {plan['tag']}"]
    lines += [f"  {f['bytes']:>12,d}  {f['path']}" for f in plan["files"]]
    lines.append(f"  {plan['total_bytes']:>12,d}  total")
    if not plan["dry_run"]:
        lines.append(f"commit {plan['commit_oid']}  {plan['commit_url']}")
    return "\n".join(lines) + "\n"


def publish_release(release_dir: str, repo_id: str, *, dry_run: bool, token: str | None = None,
                    private: bool = False, api: Any = None) -> dict[str, Any]:
    """Validate, then publish ``release_dir`` to the dataset repo ``repo_id`` and tag it ``v<version>``.

    Returns the plan ``{benchmark, version, repo_id, tag, private, files, total_bytes, dry_run}``
    plus, after a real run, ``commit_oid``, ``commit_url`` and ``url``. ``api`` replaces
    ``huggingface_hub.HfApi(token=token)`` (tests pass a fake). Raises
    ``ValidationFailed`` for a release that fails re-validation and ``PublishError``
    when the Hub cannot be reached or refuses.
    """
    from validation.gate import failed_summary, validate_release

    if not os.path.isdir(release_dir):
        raise InputError(f"{release_dir}: no such release directory")
    try:
        manifest = read_manifest(release_dir)
    except FileNotFoundError:
        raise InputError(f"{os.path.join(release_dir, MANIFEST)}: missing; not a biasbench release?") from None
    except CorruptManifest as e:
        raise ValidationFailed(f"{release_dir}: refusing to publish, {e}") from None
    # everything below acts on this one verified manifest: the tag, the file list, the uploaded manifest.json
    report = validate_release(release_dir, manifest=manifest)
    if not report["passed"]:
        raise ValidationFailed(f"{release_dir}: refusing to publish, {failed_summary(report)}")
    version = manifest["version"]
    manifest, replaced = _card_for_repo(release_dir, manifest, repo_id)
    manifest_body = manifest_text(manifest).encode("utf-8")
    files = _files(manifest, len(manifest_body))
    plan: dict[str, Any] = {
        "benchmark": manifest.get("benchmark", ""), "version": version, "repo_id": repo_id, "tag": f"v{version}",
        "private": private, "files": files, "total_bytes": sum(f["bytes"] for f in files), "dry_run": dry_run,
    }
    if dry_run:
        return plan
    operations = _operations(release_dir, manifest, manifest_body, replaced)
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi(token=token)
    step = "create the repo"
    try:
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
        step = "list its tags"
        refs = api.list_repo_refs(repo_id, repo_type="dataset")
        if any(t.name == plan["tag"] for t in refs.tags):
            raise PublishError(f"publish {repo_id}: tag {plan['tag']} already exists; releases are immutable, "
                               "bump the version")
        step = "upload the release"
        commit = api.create_commit(repo_id, operations, repo_type="dataset",
                                   commit_message=f"Release {plan['benchmark']} v{version}",
                                   commit_description=f"spec hash {manifest.get('spec_hash', '')}")
        step = "tag the commit"
        api.create_tag(repo_id, tag=plan["tag"], revision=commit.oid, repo_type="dataset",
                       tag_message=f"{plan['benchmark']} v{version}")
    except PublishError:
        raise
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one clear line
        raise PublishError(f"publish {repo_id}: cannot {step}: {_explain(exc)}") from exc
    plan.update(commit_oid=commit.oid, commit_url=commit.commit_url,
                url=f"{getattr(api, 'endpoint', 'https://huggingface.co')}/datasets/{repo_id}/tree/{plan['tag']}")
    return plan
