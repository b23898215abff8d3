"""Publishing a release to the Hugging Face Hub: one commit, tagged ``v<version>``; re-runs converge.

A release is re-validated on disk first (``validation.gate.validate_release``)
and refused if any check fails, so a failed build never reaches the Hub. What
is published comes from that one verified manifest: its version gives the tag,
and exactly the files it lists (plus manifest.json) are uploaded, one
``CommitOperationAdd`` each; nothing else in the folder, dotfiles included, is
ever read for upload. The card goes up with its loading snippet naming the repo
(``pipelines.card.card_for_repo``) and the uploaded manifest lists that card, so
the repo holds a release that validates as it stands. A dry run returns the same plan (files, sizes, tag)
without touching the network. A real run creates the dataset repo if needed,
makes one commit and tags it.

A publish can be cut short between its commit and its tag (a signal, a lost
connection, the Hub failing); running it again converges instead of committing
twice. Each attempt looks first: the tag exists and its commit holds this exact
``manifest.json`` (compared by git blob id, and the manifest lists every file's
sha256): done, nothing uploaded. The tag is missing but the branch head holds this
manifest: only the tag is made. The tag exists on other content: refused
(:class:`PublishRefused`, exit 3; releases are immutable). Otherwise: commit (on
the head it inspected, ``parent_commit``) and tag. HTTP 429 and 5xx answers (and
dropped connections) are retried with exponential backoff, honouring
``Retry-After``; each retry starts with that look again, so a commit that reached
the Hub before its answer was lost is tagged, not made twice.

The token is never passed around by biasbench: ``HfApi()`` reads ``HF_TOKEN`` or
huggingface_hub's login. Every message that leaves this module has the token
removed (:func:`redact`), in case an error echoes a request.

``format_plan(publish_release(release_dir, "org/demo", dry_run=True))`` shows
that plan (``biasbench publish --dry-run``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Any, Callable

from schemas.errors import BiasbenchError, InputError, ValidationFailed
from schemas.release import MANIFEST, CorruptManifest, manifest_text, read_manifest


class PublishError(BiasbenchError):
    """The Hub refused or could not be reached: one line naming the repo and why."""


class PublishRefused(ValidationFailed):
    """The version's tag already names other content on the Hub (exit 3)."""


#: HTTP answers worth another try: rate limited, or the server's trouble
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: attempts per publish, and the first backoff in seconds (doubling, at most MAX_DELAY)
ATTEMPTS, BASE_DELAY, MAX_DELAY = 5, 2.0, 60.0


def hub_api():
    """The Hub client; its token is HF_TOKEN or huggingface_hub's stored login."""
    from huggingface_hub import HfApi

    return HfApi()


def _token() -> str | None:
    if "huggingface_hub" not in sys.modules:
        return os.environ.get("HF_TOKEN") or None
    from huggingface_hub import get_token

    return get_token()


def redact(text: str) -> str:
    """``text`` without the Hub token (in case an error message echoes a request)."""
    token = _token()
    return text.replace(token, "hf_***") if token and len(token) >= 8 else text


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
    verb = "would publish" if plan["dry_run"] else "already published" if plan.get("already_published") else "published"
    lines = [f"{verb} {plan['benchmark']} {plan['version']} "
             f"to {plan['repo_id']} (dataset{', private' if plan['private'] else ''}), tag {plan['tag']}"]
    lines += [f"  {f['bytes']:>12,d}  {f['path']}" for f in plan["files"]]
    lines.append(f"  {plan['total_bytes']:>12,d}  total")
    if not plan["dry_run"]:
        lines.append(f"commit {plan['commit_oid']}  {plan['commit_url']}")
    return "\n".join(lines) + "\n"


def git_blob_id(data: bytes) -> str:
    """The id git (and so the Hub) gives a file with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _http_status(exc: BaseException) -> int | None:
    from huggingface_hub import errors

    if isinstance(exc, errors.HfHubHTTPError):
        return getattr(getattr(exc, "response", None), "status_code", None)
    return None


def _retryable(exc: BaseException) -> bool:
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        return False
    if _http_status(exc) in RETRY_STATUSES:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError)) and not isinstance(exc, errors.HfHubHTTPError)


def _delay(exc: BaseException, attempt: int, base: float) -> float:
    """``Retry-After`` when the Hub sends one (seconds), else ``base * 2**attempt``; at most MAX_DELAY."""
    after = getattr(getattr(exc, "response", None), "headers", {}).get("Retry-After", "")
    try:
        return min(float(after), MAX_DELAY)
    except ValueError:
        return min(base * 2 ** attempt, MAX_DELAY)


def _holds(api, repo_id: str, revision: str, manifest_body: bytes) -> bool:
    """Whether ``revision`` of the repo has exactly this manifest.json."""
    found = api.get_paths_info(repo_id, [MANIFEST], revision=revision, repo_type="dataset")
    for entry in found:
        if getattr(entry, "path", "") != MANIFEST:
            continue
        lfs = getattr(entry, "lfs", None)
        if lfs:
            return lfs.get("sha256") == hashlib.sha256(manifest_body).hexdigest()
        return getattr(entry, "blob_id", None) == git_blob_id(manifest_body)
    return False


def _converge(api, repo_id: str, plan: dict[str, Any], operations: list[Any], manifest_body: bytes,
              manifest: dict[str, Any], steps: list[str]) -> tuple[str, str | None, bool]:
    """One look-then-act pass: ``(commit oid, commit url or None, whether it was already published)``."""
    steps[0] = "create the repo"
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=plan["private"])
    steps[0] = "list its refs"
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    tag = next((t for t in refs.tags if t.name == plan["tag"]), None)
    if tag is not None:
        steps[0] = "read the tagged manifest"
        if _holds(api, repo_id, tag.target_commit, manifest_body):
            return tag.target_commit, None, True
        raise PublishRefused(f"publish {repo_id}: tag {plan['tag']} already names other content; releases are "
                             "immutable: bump the version")
    head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
    steps[0] = "read the head's manifest"
    if head is not None and _holds(api, repo_id, head, manifest_body):
        oid, url = head, None  # an earlier run committed and was cut short before its tag
    else:
        steps[0] = "upload the release"
        commit = api.create_commit(repo_id, operations, repo_type="dataset", parent_commit=head,
                                   commit_message=f"Release {plan['benchmark']} v{plan['version']}",
                                   commit_description=f"spec hash {manifest.get('spec_hash', '')}")
        oid, url = commit.oid, commit.commit_url
    steps[0] = "tag the commit"
    api.create_tag(repo_id, tag=plan["tag"], revision=oid, repo_type="dataset",
                   tag_message=f"{plan['benchmark']} v{plan['version']}")
    return oid, url, False


def publish_release(release_dir: str, repo_id: str, *, dry_run: bool, private: bool = False, api: Any = None,
                    attempts: int = ATTEMPTS, base_delay: float = BASE_DELAY,
                    sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Validate, then publish ``release_dir`` to the dataset repo ``repo_id`` and tag it ``v<version>``.

    Returns the plan ``{benchmark, version, repo_id, tag, private, files, total_bytes, dry_run}``
    plus, after a real run, ``commit_oid``, ``commit_url``, ``url``, ``already_published`` and
    ``attempts``. ``api`` replaces :func:`hub_api`. Raises ``ValidationFailed`` for a release
    that fails re-validation, :class:`PublishRefused` when the tag names other content and
    ``PublishError`` when the Hub cannot be reached or refuses.
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
    api = hub_api() if api is None else api
    steps = ["start"]
    for attempt in range(attempts):
        try:
            oid, url, already = _converge(api, repo_id, plan, operations, manifest_body, manifest, steps)
            break
        except PublishRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one clear line
            if attempt + 1 < attempts and _retryable(exc):
                sleep(_delay(exc, attempt, base_delay))
                continue
            raise PublishError(redact(f"publish {repo_id}: cannot {steps[0]}: {_explain(exc)}"
                                      + (f" (after {attempt + 1} attempts)" if attempt else ""))) from None
    endpoint = getattr(api, "endpoint", "https://huggingface.co")
    plan.update(commit_oid=oid, commit_url=url or f"{endpoint}/datasets/{repo_id}/commit/{oid}",
                url=f"{endpoint}/datasets/{repo_id}/tree/{plan['tag']}", already_published=already,
                attempts=attempt + 1)
    return plan
