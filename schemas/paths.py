"""Names that become paths (benchmark, config, split, version), and writes confined to a root.

A spec is user input: whatever it names must not steer a write outside the
release. Names are checked when the spec is loaded; every path a build writes
is joined through :func:`confined_join`, which resolves it and refuses
anything that leaves its root, whatever the name checks let through.

>>> check_name("config", "qa_gender")
'qa_gender'
>>> check_name("config", "../../escape")
Traceback (most recent call last):
...
ValueError: config '../../escape': a name may use letters, digits, '_', '-' and '.' (not first, no '..'), at most 100 characters
>>> check_version("1.2.3"), check_version("2.0.0-rc.1")
('1.2.3', '2.0.0-rc.1')
>>> check_version("banana")
Traceback (most recent call last):
...
ValueError: version 'banana' is not semver (X.Y.Z, optionally -pre.release)
>>> import tempfile
>>> confined_join(tempfile.gettempdir(), "../etc/passwd")
Traceback (most recent call last):
...
ValueError: '../etc/passwd' resolves outside ...
"""

from __future__ import annotations

import os
import re

#: benchmark and config names: they become one folder each, so one path component, portable
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: split names: what ``datasets`` accepts as a split (word characters only)
SPLIT = re.compile(r"^[A-Za-z0-9_]{1,64}$")
#: semver 2.0 without build metadata: X.Y.Z with an optional pre-release of dot-separated identifiers
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
#: a final release version as ``rebuild`` and the latest-version lookup count them
RELEASE_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

NAME_RULE = "a name may use letters, digits, '_', '-' and '.' (not first, no '..'), at most 100 characters"


def check_name(kind: str, value: str) -> str:
    """``value`` if it is a safe single path component; else ValueError naming ``kind``."""
    if not isinstance(value, str) or not NAME.match(value) or ".." in value:
        raise ValueError(f"{kind} {value!r}: {NAME_RULE}")
    return value


def check_split(value: str) -> str:
    if not isinstance(value, str) or not SPLIT.match(value):
        raise ValueError(f"split {value!r}: a split name may use letters, digits and '_' only")
    return value


def check_version(value: str) -> str:
    if not isinstance(value, str) or not SEMVER.match(value):
        raise ValueError(f"version {value!r} is not semver (X.Y.Z, optionally -pre.release)")
    return value


def version_key(version: str) -> tuple[int, int, int]:
    """Sort key of a release version ``X.Y.Z``."""
    major, minor, patch = version.split("-", 1)[0].split(".")
    return int(major), int(minor), int(patch)


def is_within(root: str, path: str) -> bool:
    """Whether ``path`` resolves (symlinks, ``..``) to ``root`` or below it."""
    root_real = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def confined_join(root: str, relative: str) -> str:
    """``root/relative`` after checking that it stays under ``root``; ValueError otherwise.

    A URL root (``gs://…``) has no symlinks to follow: there every component must be a plain name.
    """
    parts = relative.split("/")
    if "://" in root:
        if "\\" in relative or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"{relative!r} resolves outside {root}")
        return root.rstrip("/") + "/" + relative
    path = os.path.join(root, *parts)
    if os.path.isabs(relative) or "\\" in relative or not is_within(root, path):
        raise ValueError(f"{relative!r} resolves outside {root}")
    return path
