"""``fill_entry_ids`` gives every lexicon entry the id its ``entry_id`` property computes."""

from schemas.records import LexiconEntry, fill_entry_ids


def _fresh(e: LexiconEntry) -> LexiconEntry:
    return LexiconEntry(**e.to_dict())


def test_batch_ids_equal_the_property_for_any_text():
    entries = [
        LexiconEntry(lexicon="names", axis="gender", group="female", value="Zoë"),
        LexiconEntry(lexicon="np", axis="ability", group="deaf", value='a "Deaf" person\\ with\ttabs',
                     features={"noun": "person", "descriptor": "Deaf", "é": "ü\u2028"}),
        LexiconEntry(lexicon="np", axis="age", group="old", value="an 80-year-old", features={"z": "1", "a": "2"}),
        LexiconEntry(lexicon="np", axis="age", group="old", value="numbers", features={"n": 3}),  # not a string
    ]
    fill_entry_ids(entries)
    assert [e.entry_id for e in entries] == [_fresh(e).entry_id for e in entries]


def test_an_entry_that_is_not_all_strings_is_left_to_the_property():
    odd = LexiconEntry(lexicon="np", axis="age", group="old", value="x", features={"n": 3})
    fill_entry_ids([odd])
    assert "entry_id" not in odd.__dict__ and odd.entry_id == _fresh(odd).entry_id
