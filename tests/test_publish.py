"""Publishing: refused when invalid, a network-free dry run, a clear error offline, and against
``create_autospec(HfApi)`` (``tests/hub_fake.py``): the calls, converging after an interruption,
retries on 429/5xx, a tag on other content refused, the token never shown."""

import json
import shutil
from pathlib import Path

import pytest

from pipelines.publish import PublishError, PublishRefused, format_plan, publish_release
from release_fixture import build_release, finalise
from schemas.errors import ValidationFailed
from tests.hub_fake import FakeRepo, http_error


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    spec, root = build_release(tmp_path_factory.mktemp("publish") / "rel")
    finalise(root, spec)
    return root


def test_dry_run_plan(release):
    plan = publish_release(release, "org/fixture", dry_run=True)
    assert plan["tag"] == "v1.0.0" and plan["dry_run"] and plan["version"] == "1.0.0"
    paths = [f["path"] for f in plan["files"]]
    assert paths == sorted(paths) and "README.md" in paths and "data/qa_gender/test-00000-of-00001.parquet" in paths
    assert plan["total_bytes"] == sum(f["bytes"] for f in plan["files"])
    assert "would publish fixture-bench 1.0.0 to org/fixture" in format_plan(plan)


def test_calls_against_the_real_client_signatures(release):
    repo = FakeRepo()
    out = publish_release(release, "org/fixture", dry_run=False, api=repo.api, private=True)
    names = [c[0] for c in repo.api.method_calls]
    assert names == ["create_repo", "list_repo_refs", "create_commit", "create_tag"]
    assert repo.api.create_repo.call_args.kwargs == {"repo_type": "dataset", "exist_ok": True, "private": True}
    assert repo.api.create_commit.call_args.kwargs["parent_commit"] is None
    assert repo.tags == {"v1.0.0": repo.head} and out["commit_oid"] == repo.head and not out["already_published"]
    assert out["url"] == "https://huggingface.co/datasets/org/fixture/tree/v1.0.0"
    # the uploaded manifest is the local one but for the card, rewritten to name the repo (and its seal)
    local, uploaded = (json.loads(b) for b in ((Path(release) / "manifest.json").read_bytes(),
                                               repo.commits[repo.head]["manifest.json"]))
    assert [e for e in local["files"] if e["path"] != "README.md"] == \
        [e for e in uploaded["files"] if e["path"] != "README.md"]
    assert {k: v for k, v in local.items() if k not in ("files", "manifest_sha256")} == \
        {k: v for k, v in uploaded.items() if k not in ("files", "manifest_sha256")}


def test_a_rerun_of_a_finished_publish_changes_nothing(release):
    repo = FakeRepo()
    publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    commits, tags = dict(repo.commits), dict(repo.tags)
    again = publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    assert again["already_published"] and repo.commits == commits and repo.tags == tags
    assert repo.api.create_commit.call_count == 1 and repo.api.create_tag.call_count == 1
    assert format_plan(again).startswith("already published fixture-bench 1.0.0")


def test_interrupted_before_the_tag_a_rerun_tags_the_same_commit_once(release):
    repo = FakeRepo()
    repo.fail["create_tag"] = [http_error(400, "bad request")]  # not retried: the publish stops after its commit
    with pytest.raises(PublishError, match="cannot tag the commit"):
        publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    assert len(repo.commits) == 1 and repo.tags == {}
    out = publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    assert repo.api.create_commit.call_count == 1 and len(repo.commits) == 1
    assert repo.tags == {"v1.0.0": repo.head} and out["commit_oid"] == repo.head and not out["already_published"]


def test_retries_429_and_5xx_with_backoff_then_converges(release):
    repo = FakeRepo()
    repo.fail["create_commit"] = [http_error(503)]
    repo.fail["create_tag"] = [http_error(429, headers={"Retry-After": "7"}), http_error(502)]
    delays = []
    out = publish_release(release, "org/fixture", dry_run=False, api=repo.api, base_delay=0.5, sleep=delays.append)
    assert delays == [0.5, 7.0, 2.0]  # doubling from base_delay, Retry-After when the Hub sends one
    assert out["attempts"] == 4 and len(repo.commits) == 1 and repo.tags == {"v1.0.0": repo.head}


def test_a_commit_whose_answer_was_lost_is_tagged_not_made_twice(release):
    """The Hub made the commit but the client saw a 500: the retry finds it at the head and only tags it."""
    repo = FakeRepo()
    real = repo.api.create_commit.side_effect
    answers = iter([http_error(500)])

    def commit_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise next(answers)

    repo.api.create_commit.side_effect = commit_then_fail
    out = publish_release(release, "org/fixture", dry_run=False, api=repo.api, sleep=lambda s: None)
    assert repo.api.create_commit.call_count == 1 and len(repo.commits) == 1
    assert repo.tags == {"v1.0.0": repo.head} and out["attempts"] == 2


def test_gives_up_after_the_attempts_in_one_line(release):
    repo = FakeRepo()
    repo.fail["list_repo_refs"] = [http_error(503) for _ in range(3)]
    with pytest.raises(PublishError) as e:
        publish_release(release, "org/fixture", dry_run=False, api=repo.api, attempts=3, sleep=lambda s: None)
    assert "\n" not in str(e.value) and "HTTP 503" in str(e.value) and "after 3 attempts" in str(e.value)


def test_a_tag_on_other_content_is_refused(release):
    repo = FakeRepo()
    repo.commits["0ther"] = {"manifest.json": b"{}"}
    repo.head, repo.tags["v1.0.0"] = "0ther", "0ther"
    with pytest.raises(PublishRefused, match="tag v1.0.0 already names other content"):
        publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    repo.api.create_commit.assert_not_called()
    assert issubclass(PublishRefused, ValidationFailed)  # exit 3


def test_the_token_never_appears_in_an_error(release, monkeypatch):
    sentinel = "hf_SENTINELtokenDoNotPrint0123456789"
    monkeypatch.setenv("HF_TOKEN", sentinel)
    repo = FakeRepo()
    repo.fail["create_repo"] = [http_error(401, f"invalid credentials in header Authorization: Bearer {sentinel}")]
    with pytest.raises(PublishError) as e:
        publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    assert sentinel not in str(e.value) and "cannot create the repo" in str(e.value)
    repo.fail["create_tag"] = [RuntimeError(f"request failed: headers {{'authorization': 'Bearer {sentinel}'}}")]
    with pytest.raises(PublishError) as e:
        publish_release(release, "org/fixture", dry_run=False, api=repo.api)
    assert sentinel not in str(e.value) and "Bearer hf_***" in str(e.value)


def test_offline_real_run_is_one_clear_line(release, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PublishError) as e:
        publish_release(release, "org/fixture", dry_run=False, sleep=lambda s: None)
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
    """Needs the Hub: the client is HfApi autospec'd (tests/hub_fake.py, no network); the commit's files are
    written out and validated as a release."""
    import hashlib
    import json

    from validation.gate import validate_release

    repo = FakeRepo()
    publish_release(release, "acme/fixture", dry_run=False, api=repo.api)
    uploaded = tmp_path / "uploaded"
    for path, content in repo.commits[repo.head].items():
        target = uploaded / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    card = (uploaded / "README.md").read_text()
    assert 'load_dataset("acme/fixture", "qa_gender", split="test", revision="v1.0.0")' in card
    manifest = json.loads((uploaded / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["path"] == "README.md")
    assert entry["sha256"] == hashlib.sha256(card.encode()).hexdigest()
    assert validate_release(str(uploaded))["passed"]
    # the local release is untouched: its card still loads from the folder
    assert "acme/fixture" not in open(f"{release}/README.md").read()
