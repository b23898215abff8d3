"""Rebuild ``first_names.jsonl`` from the public raw name data it came from.

    python configs/data/lexicons/build.py [NAMES_DIR]

NAMES_DIR defaults to ``../shared/data/calm/names`` beside the project: US Social
Security births 2020-2021 (US public domain) and CALM's race/ethnicity table
(MIT). The thresholds below are the ones the shipped file was built with; each
entry also records them in its ``features``.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)

from transforms.lexicons.names import build_name_lexicon  # noqa: E402

SETTINGS = dict(min_count=50, top_n=30, min_gender_share=0.95, nonbinary_min_count=1000, years=(2020, 2021),
                balance_race_by_gender=True)

if __name__ == "__main__":
    names_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared", "data", "calm",
                                                                   "names")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "first_names.jsonl")
    entries = build_name_lexicon(names_dir, out, **SETTINGS)
    print(f"wrote {len(entries)} entries to {out}")
