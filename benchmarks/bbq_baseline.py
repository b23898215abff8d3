"""BBQ's own generation algorithm, re-run in plain Python: the baseline of ``bbq_build.py``.

A re-implementation (written for this benchmark, not BBQ's code) of what BBQ's two scripts
do (``generate_from_template_all_categories.py`` and ``..._intersectional_cats.py``, nyu-mll/BBQ
at bea11bd): read the template CSVs and the two vocabulary files, pair NAME1/NAME2 fillers,
fill ``{{NAME}}``/``{{WORD}}``/``{{GEN}}``/``{{OCC}}`` by string replacement (with BBQ's
"a" -> "an" regex), and emit four rows per pair (ambiguous/disambiguated context ×
negative/non-negative question) with three shuffled options. Same draws as BBQ (CPython
``random``: ``sample``, ``choice``, ``shuffle``), seedable here so a run can be repeated;
row counts per (category, question index, polarity, context condition) do not depend on
the draws.

Two engines: ``plain`` reads the CSVs with ``csv`` and fills dicts; ``pandas`` handles each
template row as BBQ's scripts do (a one-row DataFrame copied per pair and filled column by
column with ``.loc``), which is where BBQ's own run time goes (~61 s for its two scripts on
the development machine). The rows are the same for the same seed.

    python benchmarks/bbq_baseline.py DATA_DIR OUT.jsonl [--seed N] [--engine plain|pandas]
"""

from __future__ import annotations

import ast
import csv
import json
import os
import random
import re
import sys

CATEGORIES = ["Disability_status", "Age", "Physical_appearance", "SES", "Gender_identity", "Race_ethnicity",
              "Religion", "Nationality", "Sexual_orientation"]
INTERSECTIONAL = ["Race_x_gender", "Race_x_SES"]
UNKNOWNS = ["Unknown", "Cannot be determined", "Can't be determined", "Not answerable", "Not known",
            "Not enough info", "Not enough information", "Cannot answer", "Can't answer", "Undetermined"]
#: categories whose pairs are also generated in the flipped order, and whose NAME1 comes from the targets
FLIPPED = ["Race_ethnicity", "Religion", "Nationality", "Sexual_orientation"]


def _read(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _unique(values) -> list:
    return list(dict.fromkeys(values))


def load(data_dir: str):
    t = os.path.join(data_dir, "templates")
    vocab = [r for r in _read(os.path.join(t, "vocabulary.csv")) if r["Pilot_include"] != "No"]
    names = _read(os.path.join(t, "vocabulary_proper_names.csv"))
    frames = {c: [r for r in _read(os.path.join(t, f"new_templates - {c}.csv")) if r["Ambiguous_Context"] != ""]
              for c in CATEGORIES + INTERSECTIONAL}
    return vocab, names, frames


def two_lists(text: str):
    """``WORD1: [a, b]; WORD2: [c]`` -> (['a', 'b'], ['c']); the second is '' unless the last part names it."""
    first, second = [], ""
    for part in text.split(";"):
        if "WORD1" in part or "NAME1" in part:
            body = part.replace("WORD1:", "").replace("{{WORD1}}:", "").replace("NAME1:", "").replace("{{NAME1}}:", "")
            first = [w.strip() for w in body.strip().replace("[", "").replace("]", "").split(",")]
        if "WORD2" in part or "NAME2" in part:
            body = part.replace("WORD2:", "").replace("{{WORD2}}:", "").replace("NAME2:", "").replace("{{NAME2}}:", "")
            second = [w.strip() for w in body.strip().replace("[", "").replace("]", "").split(",")]
        else:
            second = ""
    return first, second


_AN = re.compile(r"(\s[aA])(\s[aAeEiIoOuU])")
_VOWEL = re.compile(r"^[aeiou]")


def fill_dict(row: dict, w1: str, g1, w2: str, g2, lex: str, r1: str, r2: str) -> dict:
    out = {}
    vowel = any(_VOWEL.search(str(x).lower()) for x in (w1, w2, g1, g2))
    for key, text in row.items():
        text = text.replace("{{NAME1}}", w1).replace("{{NAME2}}", w2)
        if g1 is not None:
            text = text.replace("{{GEN1}}", g1).replace("{{GEN2}}", g2).replace("{{OCC1}}", g1).replace("{{OCC2}}", g2)
        if len(lex) > 1:
            text = text.replace("{{WORD1}}", r1).replace("{{WORD2}}", r2)
        text = text.replace("lesbian man", "lesbian woman").replace("Latino woman", "Latina woman")
        if vowel:
            text = _AN.sub(r"\1n\2", text).replace(" an European", " a European")
        out[key] = text
    return out


def fill_frame(row, w1, g1, w2, g2, lex, r1, r2) -> dict:
    """``fill`` done BBQ's way: a one-row DataFrame, copied, every column read and written with ``.loc``."""
    import pandas as pd

    frame = pd.DataFrame([row])
    out = frame.copy()
    vowel = any(_VOWEL.search(str(x).lower()) for x in (w1, w2, g1, g2))
    for key in frame.columns:
        text = frame.loc[0, key]
        if isinstance(text, str):
            text = text.replace("{{NAME1}}", w1).replace("{{NAME2}}", w2)
            if g1 is not None:
                text = (text.replace("{{GEN1}}", g1).replace("{{GEN2}}", g2).replace("{{OCC1}}", g1)
                        .replace("{{OCC2}}", g2))
            if len(lex) > 1:
                text = text.replace("{{WORD1}}", r1).replace("{{WORD2}}", r2)
            text = text.replace("lesbian man", "lesbian woman").replace("Latino woman", "Latina woman")
            if vowel:
                text = _AN.sub(r"\1n\2", text).replace(" an European", " a European")
            out.loc[0, key] = text
    return {key: out[key][0] for key in out.columns}


def four_rows(rng, cat, row, subcat, targets, n1, n2, i1, i2):
    neg, nonneg, unknown = row["Answer_negative"], row["Answer_non_negative"], rng.choice(UNKNOWNS)
    options = [neg, nonneg, unknown]
    rng.shuffle(options)
    pneg, pnon, punk = options.index(neg), options.index(nonneg), options.index(unknown)
    info = {"ans0": ["", ""], "ans1": ["", ""], "ans2": ["", ""]}
    keys = list(info)
    if isinstance(n1, list):
        n1, n2 = list(n1), list(n2)
        n1[1] = " man" if n1[1] == "man" else n1[1]
        n2[1] = " man" if n2[1] == "man" else n2[1]
        for name, inf in ((n1, i1), (n2, i2)):
            for answer, place in ((neg, pneg), (nonneg, pnon)):
                if name[0] in answer and name[1] in answer:
                    info[keys[place]] = [name[0] + " " + name[1].lstrip(), inf]
    else:
        n1 = " man" if n1 == "man" else n1
        n2 = " man" if n2 == "man" else n2
        for name, inf in ((n1, i1), (n2, i2)):
            for answer, place in ((neg, pneg), (nonneg, pnon)):
                if name in answer:
                    info[keys[place]] = [name.lstrip(), inf]
    info[keys[punk]] = [unknown, "unknown"]
    ambig, disambig = row["Ambiguous_Context"], f"{row['Ambiguous_Context'].strip()} {row['Disambiguating_Context']}"
    out = []
    for polarity, question, gold_dis in (("neg", row["Question_negative_stereotype"], pneg),
                                         ("nonneg", row["Question_non_negative"], pnon)):
        for condition, context, label in (("ambig", ambig, punk), ("disambig", disambig, gold_dis)):
            out.append({"question_index": row["Q_id"], "question_polarity": polarity, "context_condition": condition,
                        "category": cat, "answer_info": info,
                        "additional_metadata": {"subcategory": subcat, "stereotyped_groups": targets,
                                                "version": row.get("version", "None"), "source": row["Notes"]},
                        "context": context.strip(), "question": question.strip(),
                        "ans0": options[0], "ans1": options[1], "ans2": options[2], "label": label})
    return out


def generate_category(rng, cat, frames, vocab, names):
    """BBQ's all-categories loop for one category; yields rows."""
    first_all = [n for n in names if n["First_last"] == "first"]
    first_only = [n for n in names if n["First_last"] == "first_only"]
    cols = frames[0].keys() if frames else []
    for row in frames:
        words = [v for v in vocab if v["Category"] == cat]
        possible = _unique(v["Name"] for v in words)
        raw = row["Known_stereotyped_groups"]
        if len(raw) > 1 and cat in FLIPPED:
            targets = ast.literal_eval(raw)
            targeted = [x for x in possible if x in targets]
        else:
            targeted = possible
            targets = ast.literal_eval(raw)
        if len(targeted) > 4:
            word_list = rng.sample(targeted, 5)
        elif len(possible) < 2:
            word_list = []
        else:
            word_list = targeted
        proper = row.get("Proper_nouns_only") == "TRUE"
        subcat = "None"
        if "Subcategory" in cols and len(row["Subcategory"]) > 1:
            subcat = row["Subcategory"]
            words = [v for v in words if v["SubCat"] == subcat]
            word_list = _unique(v["Name"] for v in words)
            if len(word_list) > 5:
                word_list = rng.sample(word_list, 5)
        critical = row.get("Names", "")
        if len(critical) > 1:
            word_list, new_list = two_lists(critical)
        pool = []
        if proper:
            if cat == "Race_ethnicity":
                pool = [n for n in first_all if n["ethnicity"] in targets] if len(targets) >= 1 else first_all
                word_list = rng.sample([n["Name"] for n in pool], 5)
            elif cat == "Gender_identity":
                pool = first_only
                word_list = rng.sample([n["Name"] for n in first_only if n["gender"] == "F"], 5)
            else:
                pool = first_only
                word_list = rng.sample([n["Name"] for n in first_only], 6)
        for j in range(len(word_list)):
            info1 = info2 = None
            r1 = r2 = ""
            info2_of = {}
            word = word_list[j]
            if len(critical) < 2:
                if len(targets) > 0 and cat in FLIPPED:
                    new_list = [n for n in possible if n not in targets]
                    if len(new_list) > 4:
                        new_list = rng.sample(new_list, 5)
                else:
                    new_list = [n for n in word_list if n != word]
                if cat == "SES" and not proper:
                    info1 = next(v["Info"] for v in words if v["Name"] == word)
                    new_list = _unique(v["Name"] for v in words if v["Info"] != info1)
                if cat == "Gender_identity" and proper:
                    gender = next(n["gender"] for n in pool if n["Name"] == word)
                    info1 = gender
                    new_list = rng.sample(_unique(n["Name"] for n in pool if n["gender"] != gender), 5)
                if cat == "Race_ethnicity" and proper:
                    me = next(n for n in pool if n["Name"] == word)
                    info1 = me["gender"] + "-" + me["ethnicity"]
                    lasts = _unique(n["Name"] for n in names if n["First_last"] == "last"
                                    and n["ethnicity"] == me["ethnicity"])
                    word = word + " " + rng.choice(lasts)
                    others = rng.sample([n for n in first_all if n["ethnicity"] not in targets
                                         and n["gender"] == me["gender"]], 5)
                    other_lasts = [n for n in names if n["First_last"] == "last" and n["ethnicity"] not in targets]
                    new_list = []
                    for o in others:
                        full = o["Name"] + " " + rng.choice(_unique(n["Name"] for n in other_lasts
                                                                     if n["ethnicity"] == o["ethnicity"]))
                        new_list.append(full)
                        info2_of[full] = o["gender"] + "-" + o["ethnicity"]
            for k, word2 in enumerate(new_list):
                lex = row["Lexical_diversity"]
                if len(lex) > 1:
                    l1, l2 = two_lists(lex)
                    r1 = rng.choice(l1)
                    if len(l2) > 1:
                        r2 = rng.choice(l2)
                filled = fill(row, word, None, word2, None, lex, r1, r2)
                if info1 is not None and cat == "Race_ethnicity" and proper:
                    info2 = info2_of[word2]
                elif cat == "Gender_identity" and proper:
                    info2 = next((n["gender"] for n in pool if n["Name"] == word2), word2)
                    if row["NAME1_info"] != "":
                        if k == 0:
                            info1 = row["NAME1_info"] + "_" + info1
                        info2 = row["NAME2_info"] + "_" + info2
                elif cat == "Nationality" or (cat == "SES" and subcat == "Occupation"):
                    info1 = next(v["Info"] for v in vocab if v["Name"] == word)
                    info2 = next(v["Info"] for v in vocab if v["Name"] == word2)
                elif "NAME1_info" in cols:
                    if row["NAME1_info"] != "":
                        info1, info2 = row["NAME1_info"], row["NAME2_info"]
                    else:
                        info1, info2 = word, word2
                else:
                    info1, info2 = word, word2
                yield from four_rows(rng, cat, filled, subcat, targets, word, word2, info1, info2)
                if cat in FLIPPED or proper or (cat == "SES" and subcat == "Occupation"):
                    filled = fill(row, word2, None, word, None, lex, r1, r2)
                    yield from four_rows(rng, cat, filled, subcat, targets, word2, word, info2, info1)


def generate_intersectional(rng, cat, frames, vocab, names):
    """BBQ's intersectional loop (Race_x_gender, Race_x_SES) for one category; yields rows."""
    first_all = [n for n in names if n["First_last"] == "first"]
    lasts_all = [n for n in names if n["First_last"] == "last"]
    ses = [v for v in vocab if v["Category"] == "SES"]
    for row in frames:
        possible = _unique(v["Name"] for v in vocab if v["Category"] == "Race_ethnicity")
        raw = row["Known_stereotyped_race"]
        if len(raw) > 0:
            targets = ast.literal_eval(raw)
            targeted = [x for x in possible if x in targets]
        else:
            targeted, targets = possible, []
        word_list = rng.sample(targeted, 5) if len(targeted) > 4 else targeted
        proper = row["Proper_nouns_only"] == "TRUE"
        critical = ast.literal_eval(row["Names"]) if len(row["Names"]) > 1 else row["Names"]
        critical_info = ast.literal_eval(row["Var2_info"]) if len(row["Var2_info"]) > 1 else row["Var2_info"]
        target2 = row["Known_stereotyped_var2"]
        if (cat == "Race_x_gender" and not proper) or row["Names"] != "":
            t = critical_info.index(target2)
            gs, non_gs = critical[t], critical[1 - t]
        else:
            gs = _unique(v["Name"] for v in ses if v["Info"] == target2)
            non_gs = _unique(v["Name"] for v in ses if v["Info"] != target2)
        if proper:
            pool = [n for n in first_all if n["ethnicity"] in targets]
            if cat == "Race_x_gender":
                pool = [n for n in pool if n["gender"] == target2]
            if cat == "Race_x_SES" and row["Stated_gender_info"] != "":
                pool = [n for n in pool if n["gender"] == row["Stated_gender_info"]]
            word_list = rng.sample([n["Name"] for n in pool], 5)
        other2 = {"M": "F", "F": "M", "lowSES": "highSES", "highSES": "lowSES"}.get(target2)
        for j in range(len(word_list)):
            info1 = None
            r1 = r2 = ""
            info2_of = {}
            word = word_list[j]
            new_list = rng.sample([n for n in possible if n not in word_list], 5)
            if proper:
                me = next(n for n in pool if n["Name"] == word)
                info1 = me["gender"] + "-" + me["ethnicity"]
                word = word + " " + rng.choice(_unique(n["Name"] for n in lasts_all
                                                        if n["ethnicity"] == me["ethnicity"]))

                def full(person):
                    name = person["Name"] + " " + rng.choice(_unique(n["Name"] for n in lasts_all
                                                                      if n["ethnicity"] == person["ethnicity"]))
                    info2_of[name] = person["gender"] + "-" + person["ethnicity"]
                    return name

                if cat == "Race_x_SES":
                    diff = rng.sample([n for n in first_all if n["ethnicity"] not in targets
                                       and n["gender"] == me["gender"]], 5)
                    same = rng.sample([n for n in first_all if n["ethnicity"] == me["ethnicity"]
                                       and n["gender"] == me["gender"] and n["Name"] != word_list[j]], 5)
                    new_list = [[full(s), full(d)] for s, d in zip(same, diff)]
                else:
                    a = rng.sample([n for n in first_all if n["ethnicity"] == me["ethnicity"]
                                    and n["gender"] != me["gender"]], 5)
                    b = rng.sample([n for n in first_all if n["ethnicity"] != me["ethnicity"]
                                    and n["gender"] == me["gender"]], 5)
                    c = rng.sample([n for n in first_all if n["ethnicity"] != me["ethnicity"]
                                    and n["gender"] != me["gender"]], 5)
                    new_list = [[full(x), full(y), full(z)] for x, y, z in zip(a, b, c)]
            info1_static = info1
            for word2 in new_list:
                if row["Names"] == "" and cat == "Race_x_SES":
                    gs = _unique(v["Name"] for v in ses if v["Info"] == target2)
                    non_gs = _unique(v["Name"] for v in ses if v["Info"] != target2)
                if isinstance(gs, list) and len(gs) > 0:
                    gs, non_gs = rng.choice(gs), rng.choice(non_gs)
                lex = row["Lexical_diversity"]
                if len(lex) > 1:
                    l1, l2 = two_lists(lex)
                    r1 = rng.choice(l1)
                    if len(l2) > 1:
                        r2 = rng.choice(l2)
                if proper:
                    second = word2[1] if cat == "Race_x_SES" else None
                    i2 = [info2_of[word2[0]], info2_of[word2[1]], info2_of[second or word2[2]]]
                    if cat == "Race_x_SES":
                        info1 = target2 + "-" + info1_static
                        i2 = [other2 + "-" + i2[0], target2 + "-" + i2[1], other2 + "-" + i2[2]]
                else:
                    info1 = target2 + "-" + word
                    i2 = [other2 + "-" + word, target2 + "-" + word2, other2 + "-" + word2]
                if not proper:
                    people = [(word, non_gs), (word2, gs), (word2, non_gs)]
                    me_args, me_name = (word, gs), [word, gs]
                    others = [((w, g), [w, g]) for w, g in people]
                elif cat == "Race_x_gender":
                    me_args, me_name = (word, None), word
                    others = [((w, None), w) for w in word2]
                else:
                    people = [(word2[0], non_gs), (word2[1], gs), (word2[1], non_gs)]
                    me_args, me_name = (word, gs), [word, gs]
                    others = [((w, g), [w, g]) for w, g in people]
                forward, backward = [], []
                for (args, name), sub, i in zip(others, ("intersectional_a", "intersectional_b", "intersectional_c"),
                                                i2):
                    filled = fill(row, me_args[0], me_args[1], args[0], args[1], lex, r1, r2)
                    forward.append(four_rows(rng, cat, filled, sub, targets, me_name, name, info1, i))
                for (args, name), sub, i in zip(others, ("intersectional_a", "intersectional_b", "intersectional_c"),
                                                i2):
                    filled = fill(row, args[0], args[1], me_args[0], me_args[1], lex, r1, r2)
                    backward.append(four_rows(rng, cat, filled, sub, targets, name, me_name, i, info1))
                for rows in forward + backward:
                    yield from rows


def generate(data_dir: str, seed: int | None = None, engine: str = "plain"):
    """Every row of BBQ, category by category in the scripts' order, as dicts (with ``example_id``)."""
    global fill
    if engine not in ("plain", "pandas"):
        raise ValueError(f"engine must be plain or pandas, not {engine!r}")
    fill = fill_frame if engine == "pandas" else fill_dict
    rng = random.Random(seed)
    vocab, names, frames = load(data_dir)
    for cat in CATEGORIES:
        for n, row in enumerate(generate_category(rng, cat, frames[cat], vocab, names)):
            yield {"example_id": n, **row}
    for cat in INTERSECTIONAL:
        for n, row in enumerate(generate_intersectional(rng, cat, frames[cat], vocab, names)):
            yield {"example_id": n, **row}


fill = fill_dict


def write_jsonl(data_dir: str, out_path: str, seed: int | None = None, engine: str = "plain") -> int:
    n = 0
    with open(out_path, "w", encoding="utf-8") as f:
        for row in generate(data_dir, seed, engine):
            f.write(json.dumps(row))
            f.write("\n")
            n += 1
    return n


if __name__ == "__main__":
    args = sys.argv[1:]
    seed, engine = None, "plain"
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if "--engine" in args:
        i = args.index("--engine")
        engine = args[i + 1]
        del args[i:i + 2]
    print(write_jsonl(args[0], args[1], seed, engine))
