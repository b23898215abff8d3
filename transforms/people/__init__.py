"""People in source text: who is mentioned, where, and which pronouns refer to them.

``cues``: the name gazetteer, person nouns and pronouns, and the cheap prefilter
that decides whether a record can hold a person at all. ``mentions``: the
referents of one record read off spaCy docs (names, generic person noun phrases,
pronouns resolved by explicit rules), or the reason the record is refused.
"""
