"""Rebuild ``demographic_name_pools.jsonl`` (the decisions benchmark's implicit fills) from public raw data.

    python configs/data/lexicons/build_demographic_names.py [NAMES_DIR]

NAMES_DIR defaults to ``../shared/data/calm/names`` beside the project: US Social
Security births 2020-2021 (US public domain) for sex shares and frequencies, and
CALM's race/ethnicity table (MIT) for race. The thresholds below are the ones
the shipped file was built with; each entry also records them in its
``features``. See ``transforms.lexicons.demographics``.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)

from transforms.lexicons.demographics import build_name_pools, pool_sizes  # noqa: E402

SETTINGS = dict(min_count=50, min_gender_share=0.8, nonbinary_band=(0.3, 0.7), years=(2020, 2021))

if __name__ == "__main__":
    names_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared", "data", "calm",
                                                                   "names")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demographic_name_pools.jsonl")
    entries = build_name_pools(names_dir, out, **SETTINGS)
    print(f"wrote {len(entries)} names to {out}")
    for key, n in pool_sizes(entries).items():
        print(f"  {key}: {n}")
