"""Template importers: files of templates already written with slots, one importer per syntax.

``canonical`` (JSON Lines of Template dicts) lives here; other syntaxes (CALM's
``<PERSON>``, HolisticBias's ``{noun_phrase}``) register from their own modules
with ``@register_importer`` and are found by name (``transforms.importers.<format>``).

>>> from schemas.spec import TemplateFileSpec
>>> "canonical" in IMPORTERS
True
"""

from transforms.importers.base import IMPORTERS, import_templates, register_importer
from transforms.importers import canonical  # noqa: F401  (registers "canonical")
from transforms.importers import calm  # noqa: F401  (registers "calm")

__all__ = ["IMPORTERS", "register_importer", "import_templates"]
