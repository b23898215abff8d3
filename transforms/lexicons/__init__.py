"""Lexicons: sets of fillers (names, descriptor phrases …) loaded by format, and the name builder.

>>> from schemas.spec import LexiconSpec
>>> "jsonl" in LEXICON_LOADERS
True
"""

from transforms.lexicons.base import LEXICON_LOADERS, load_lexicon, register_lexicon_loader
from transforms.lexicons import jsonl  # noqa: F401  (registers "jsonl")
from transforms.lexicons import calm_names  # noqa: F401  (registers "calm_gender_names", "calm_race_names")
from transforms.lexicons import demographics  # noqa: F401  (registers "demographic_cells")

__all__ = ["LEXICON_LOADERS", "register_lexicon_loader", "load_lexicon"]
