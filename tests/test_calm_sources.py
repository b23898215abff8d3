"""Every CALM source corpus, read in place from ../shared through its shipped source profile.

Each test reads the real file(s) with the profile's format and mapping, and checks the
record count, that nothing was quarantined, and one record's task fields, id and licence.
"""

import pytest

from pipelines.sources import profile_names, resolve_data_path, source_from_profile
from schemas.quarantine import Quarantined
from schemas.records import SOURCE_TASK_FIELDS
from transforms.ingest import expand_paths, read_source

# profile -> (records, task, licence, a record id and some of its fields)
EXPECTED = {
    "babi": (62041, "qa", "CC-BY-3.0", "task1/0",
             {"question": "Where is Daniel?", "answer": "bathroom",
              "context": "Daniel travelled to the bathroom. Mary moved to the hallway."}),
    "sodapop": (1302, "qa", "CC-BY-4.0", "socialIQa_v1.4_dev_Bethany_0_2191/1",
                {"question": "How would you describe Bethany?", "answer": "sympathetic",
                 "options": ["sympathetic", "like a person who was unable to help", "incredulous"]}),
    "mctest": (600, "qa", "MSR-LA (MCTest licence, research use)", "mc500.test.0.0",
               {"question": "What time did the party start?", "answer": "1", "options": ["10", "2", "11", "1"],
                "question_type": "one"}),
    "tweetqa": (1086, "qa", "CC-BY-SA-4.0", "0",
                {"question": "who has the most to lose", "answer": "w nj", "qid": "f867d1c3361549952be5639ca433895f"}),
    "relation_extraction": (12000, "qa", "CC-BY-SA-3.0", "1",
                            {"question": "What team does Travis Hamonic belong to?", "answer": "New York Islanders",
                             "relation": "drafted by", "subject": "Travis Hamonic"}),
    "qamr": (18770, "qa", "MIT", "Wiki1k:wikinews:762751:3:1.0",
             {"question": "Who instructed Eric Holder?", "answer": "Obama",
              "context": "Obama instructed Eric Holder, the US attorney general, to ensure the ruling is "
                         "implemented in federal law."}),
    "duorc": (12559, "qa", "MIT", "/m/0g9pz0.1",
              {"question": "Who is the best friend of Luke?", "answer": "Keenan", "title": "Zerophilia"}),
    "mcscript": (2797, "qa", "CC-BY-4.0", "0.1",
                 {"question": "Where was the newspaper located?", "answer": "At the very end of the drive way.",
                  "options": ["In front of the door.", "At the very end of the drive way."],
                  "scenario": "getting the newspaper", "question_type": "text"}),
    "snli": (10000, "nli", "CC-BY-SA-4.0", "2",
             {"premise": "This church choir sings to the masses as they sing joyous songs from the book at a church.",
              "hypothesis": "The church has cracks in the ceiling.", "answer": "neutral"}),
    "wnli": (71, "nli", "CC-BY-4.0", "1",
             {"premise": "Jane knocked on Susan's door but she did not answer.",
              "hypothesis": "Susan did not answer.", "answer": "entailment"}),
    "rte": (277, "nli", "unknown (PASCAL RTE; no licence stated upstream)", "1",
            {"hypothesis": "Bacteria is winning the war against antibiotics.", "answer": "entailment"}),
    "drop": (9536, "qa", "CC-BY-SA-4.0", "nfl_1184.0",
             {"question": "Who scored the first touchdown of the game?", "answer": "Chaz Schilens",
              "query_id": "f37e81fa-ef7b-4583-b671-762fc433faa9"}),
    "gap": (2000, "coreference", "Apache-2.0", "test-1",
            {"pronoun": "His", "options": ["Bob Suter", "Dehner"], "answer": "Dehner", "pronoun_offset": "383"}),
    "wsc": (285, "coreference", "CC-BY-4.0", "2",
            {"pronoun": "they", "options": ["The city councilmen", "The demonstrators"],
             "answer": "The city councilmen", "quote": "they feared violence"}),
}


def test_every_shipped_profile_is_checked_here():
    assert sorted(EXPECTED) == profile_names()


def read_all(spec, calm_dir):
    records, quarantined = [], []
    for one, path in expand_paths(spec, resolve_data_path(spec.path, str(calm_dir))):
        for r in read_source(one, path):
            (quarantined if isinstance(r, Quarantined) else records).append(r)
    return records, quarantined


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_calm_source_reads_in_place(name, calm_dir):
    count, task, licence, rid, sample = EXPECTED[name]
    spec = source_from_profile(name)
    records, quarantined = read_all(spec, calm_dir)
    assert quarantined == [] and len(records) == count
    ids = [r.record_id for r in records]
    assert len(set(ids)) == count  # stable ids, unique within the source
    by_id = {r.record_id: r for r in records}
    rec = by_id[rid]
    assert (rec.source_dataset, rec.task, rec.source_license, rec.source_split) == (name, task, licence, "test")
    assert {k: rec.fields[k] for k in sample} == sample
    # every record carries the task's text fields, its answer and options, and where it came from
    assert all(set(SOURCE_TASK_FIELDS[task]) | {"answer", "options"} <= set(r.fields) for r in records)
    assert all(r.fields[f] for r in records for f in SOURCE_TASK_FIELDS[task])
    assert "calm/sources/" in rec.location and (", line " in rec.location or ", record " in rec.location)
