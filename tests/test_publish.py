"""Publishing: refused when invalid, a network-free dry run, a clear error offline, the Hub call order."""

import shutil
from types import SimpleNamespace

import pytest

from pipelines.publish import PublishError, format_plan, publish_release
from release_fixture import build_release, finalise
from schemas.errors import ValidationFailed


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("publish") / "rel")
    finalise(root, spec)
    return root


class FakeApi:
    """Records the Hub calls publish_release makes, in order."""

    endpoint = "https://hub.example"

    def __init__(self, tags=()):
        self.calls, self.tags = [], list(tags)

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def list_repo_refs(self, repo_id, **kw):
        self.calls.append(("list_repo_refs", repo_id, kw))
        return SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.tags])

    def create_commit(self, repo_id, operations, **kw):
        self.calls.append(("create_commit", repo_id, {**kw, "operations": operations}))
        return SimpleNamespace(oid="abc123", commit_url="https://hub.example/datasets/org/x/commit/abc123")

    def create_tag(self, repo_id, **kw):
        self.calls.append(("create_tag", repo_id, kw))


def test_dry_run_plan(release):
    plan = publish_release(release, "org/fixture", dry_run=True)
    assert plan["tag"] == "v1.0.0" and plan["dry_run"] and plan["version"] == "1.0.0"
    paths = [f["path"] for f in plan["files"]]
    assert paths == sorted(paths) and "README.md" in paths and "data/qa_gender/test-00000-of-00001.parquet" in paths
    assert plan["total_bytes"] == sum(f["bytes"] for f in plan["files"])
    assert "would publish fixture-bench 1.0.0 to org/fixture" in format_plan(plan)


def test_real_run_order_with_fake_hub(release):
    api = FakeApi()
    out = publish_release(release, "org/fixture", dry_run=False, api=api, private=True)
    assert [c[0] for c in api.calls] == ["create_repo", "list_repo_refs", "create_commit", "create_tag"]
    assert api.calls[0][2] == {"repo_type": "dataset", "exist_ok": True, "private": True}
    assert api.calls[3][2]["tag"] == "v1.0.0" and api.calls[3][2]["revision"] == "abc123"
    assert out["commit_oid"] == "abc123" and out["url"] == "https://hub.example/datasets/org/fixture/tree/v1.0.0"


def test_existing_tag_refused(release):
    api = FakeApi(tags=["v1.0.0"])
    with pytest.raises(PublishError, match="tag v1.0.0 already exists"):
        publish_release(release, "org/fixture", dry_run=False, api=api)
    assert "create_commit" not in [c[0] for c in api.calls]


def test_offline_real_run_is_one_clear_line(release, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PublishError) as e:
        publish_release(release, "org/fixture", dry_run=False, token="hf_fake")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("publish org/fixture: cannot create the repo") and "offline" in msg


def test_failed_release_is_refused(release, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    with open(copy / "lexicons.parquet", "ab") as f:
        f.write(b"x")
    with pytest.raises(ValidationFailed, match="refusing to publish.*file_integrity"):
        publish_release(str(copy), "org/fixture", dry_run=True)


def test_published_card_names_the_repo_and_the_upload_validates(release, tmp_path):
    """Needs the Hub: the client is HfApi autospec'd (no network); the commit's files are written out and validated."""
    import hashlib
    import json
    from unittest import mock

    from huggingface_hub import HfApi

    from validation.gate import validate_release

    api = mock.create_autospec(HfApi, instance=True)
    api.list_repo_refs.return_value = SimpleNamespace(tags=[])
    api.create_commit.return_value = SimpleNamespace(oid="abc123", commit_url="https://hub.example/commit/abc123")
    api.endpoint = "https://hub.example"
    publish_release(release, "acme/fixture", dry_run=False, api=api)
    ops = api.create_commit.call_args.args[1]
    uploaded = tmp_path / "uploaded"
    for op in ops:
        target = uploaded / op.path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        content = op.path_or_fileobj
        target.write_bytes(content if isinstance(content, bytes) else open(content, "rb").read())
    card = (uploaded / "README.md").read_text()
    assert 'load_dataset("acme/fixture", "qa_gender", split="test", revision="v1.0.0")' in card
    manifest = json.loads((uploaded / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["path"] == "README.md")
    assert entry["sha256"] == hashlib.sha256(card.encode()).hexdigest()
    assert validate_release(str(uploaded))["passed"]
    # the local release is untouched: its card still loads from the folder
    assert "acme/fixture" not in open(f"{release}/README.md").read()
