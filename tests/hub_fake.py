"""A dataset repo's state behind ``create_autospec(HfApi, instance=True)``.

The autospec checks every call against the installed huggingface_hub's real
signatures (a wrong argument name or a removed method fails the test); the side
effects below keep a repo (commits, the ``main`` head, tags) so that publishing
can be interrupted and re-run. Return values are huggingface_hub's own types
(``GitRefs``, ``GitRefInfo``, ``RepoFile``, ``CommitInfo``), and failures are the
errors ``hf_raise_for_status`` makes from real ``httpx2`` responses.
"""

from __future__ import annotations

import hashlib
from unittest import mock


def http_error(status: int, message: str = "", headers: dict | None = None) -> Exception:
    """The exception huggingface_hub raises for an HTTP ``status`` answer (built by its own code)."""
    import httpx2
    from huggingface_hub.utils import hf_raise_for_status

    request = httpx2.Request("POST", "https://hub.example/api/datasets/org/x/tag/main")
    response = httpx2.Response(status, request=request, headers=headers or {},
                               json={"error": message or f"status {status}"})
    try:
        hf_raise_for_status(response)
    except Exception as e:  # noqa: BLE001 - what the client would have raised
        return e
    raise AssertionError(f"hf_raise_for_status did not raise for {status}")


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeRepo:
    """One dataset repo; ``fail[method]`` lists exceptions to raise on that method's next calls."""

    endpoint = "https://huggingface.co"  # CommitInfo parses commit URLs against it; nothing is sent

    def __init__(self):
        from huggingface_hub import HfApi

        self.commits: dict[str, dict[str, bytes]] = {}
        self.head: str | None = None
        self.tags: dict[str, str] = {}
        self.fail: dict[str, list[BaseException]] = {}
        self.api = mock.create_autospec(HfApi, instance=True)
        self.api.endpoint = self.endpoint
        for name in ("create_repo", "list_repo_refs", "get_paths_info", "create_commit", "create_tag"):
            getattr(self.api, name).side_effect = self._failing(name, getattr(self, f"_{name}"))

    def _failing(self, name, fn):
        def call(*args, **kwargs):
            if self.fail.get(name):
                raise self.fail[name].pop(0)
            return fn(*args, **kwargs)
        return call

    def _create_repo(self, repo_id, **kwargs):
        return f"{self.endpoint}/datasets/{repo_id}"

    def _list_repo_refs(self, repo_id, **kwargs):
        from huggingface_hub.hf_api import GitRefInfo, GitRefs

        branches = [GitRefInfo(name="main", ref="refs/heads/main", target_commit=self.head)] if self.head else []
        tags = [GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit=oid) for t, oid in self.tags.items()]
        return GitRefs(branches=branches, converts=[], tags=tags)

    def _get_paths_info(self, repo_id, paths, *, revision=None, **kwargs):
        from huggingface_hub.hf_api import RepoFile

        files = self.commits.get(self.tags.get(revision, revision) or self.head or "", {})
        return [RepoFile(path=p, size=len(files[p]), oid=git_blob(files[p])) for p in paths if p in files]

    def _create_commit(self, repo_id, operations, *, commit_message, parent_commit=None, **kwargs):
        from huggingface_hub.hf_api import CommitInfo

        if parent_commit != self.head:
            raise http_error(412, "parent commit is not the head of main")
        files = dict(self.commits.get(self.head or "", {}))
        for op in operations:
            src = op.path_or_fileobj
            if isinstance(src, bytes):
                files[op.path_in_repo] = src
            else:
                with open(src, "rb") as f:
                    files[op.path_in_repo] = f.read()
        oid = hashlib.sha1(repr(sorted((k, git_blob(v)) for k, v in files.items())).encode()
                           + (self.head or "").encode()).hexdigest()
        self.commits[oid], self.head = files, oid
        return CommitInfo(commit_url=f"{self.endpoint}/datasets/{repo_id}/commit/{oid}", commit_message=commit_message,
                          commit_description="", oid=oid)

    def _create_tag(self, repo_id, *, tag, revision=None, **kwargs):
        if tag in self.tags:
            raise http_error(409, f"tag {tag} already exists")
        self.tags[tag] = revision or self.head
