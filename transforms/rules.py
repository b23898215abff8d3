"""The version of the rendering rules: bump it whenever the same spec and inputs would give other rows.

A release's manifest records it (``rules_version``) beside the spec hash and the inputs'
hashes, and ``biasbench rebuild`` compares all three: a biasbench whose rendering changed
(a slot's rendering, the article or agreement rules, an importer's fix list, ids, columns)
then cuts a new version over unchanged inputs instead of calling the old release current.
``tests/test_rules_version.py`` renders a fixed set of templates and fails, asking for a
bump here, when the rows change while this stays the same.

History:

1. rows as of the scheduled-rebuild work (first recorded).
"""

RULES_VERSION = "1"
