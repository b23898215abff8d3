"""Benchmark specs as typed objects: what to build, read from YAML by ``pipelines.spec.load_spec``.

A spec names its sources, how templates are extracted from them (or imported
from template files), the lexicons, and the release configs (one per task ×
axis) with their expansion design. Stages never know which benchmark they
build; specs do. See README.md ("Spec reference") for every key. The types
live here, below every stage, so that stages and validation can take them
without importing the pipeline.

>>> ConfigSpec(name="qa_gender", task="qa", axis="gender", lexicon="names", groups=[GroupSpec("male")]).split
'test'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.paths import check_name, check_split, check_version
from schemas.quarantine import DEFAULT_MAX_RECORD_BYTES
from schemas.records import SOURCE_TASK_FIELDS, TASK_FIELDS


@dataclass
class TaskMapping:
    """How a source record becomes the task's fields (``transforms.ingest.mapping``).

    A field reference is a dotted source path, a list of paths (the first non-empty
    wins), or ``{from: path(s), remove: regex, sub: {regex: text}, replace: {marker: path},
    split: "|" | "repr"}``.
    """

    fields: dict[str, Any] = field(default_factory=dict)  # task field -> field reference
    answer: Any = ""  # the gold answer or label
    options: Any = ""  # a list (of texts, or of objects: option_text names their text), or a split text
    option_fields: list[Any] = field(default_factory=list)  # several source fields that are the options
    option_text: str = ""  # options given as objects: the key of their text
    option_correct: str = ""  # options given as objects: the key that marks the correct one
    option_correct_fields: list[str] = field(default_factory=list)  # parallel to option_fields: true marks the answer
    answer_from_options: Literal["", "letter", "index"] = ""  # the answer points into the options
    answer_map: dict[str, str] = field(default_factory=dict)  # raw label -> task label
    optional: list[str] = field(default_factory=list)  # mapped keys that may be empty (else: quarantined)
    keep: dict[str, Any] = field(default_factory=dict)  # extra output field -> field reference


@dataclass
class SourceSpec:
    """A corpus to ingest. ``path`` may name a zip member as ``archive.zip!inner/file.jsonl``, or
    several files with a glob (``babi/task*.json``: their ids get the file's stem as a prefix).

    ``profile`` names a source profile (``configs/data/sources/<profile>.yaml``) whose keys are
    defaults for this source's; ``task`` with ``mapping`` turns records into the task's fields.
    """

    name: str
    format: str  # a reader registered in transforms.ingest: jsonl, json, csv, tsv, parquet, xml, blocks, hf
    path: str
    split: str = "test"
    license: str = ""
    id_field: str = ""  # record id field; default: the record's position in the file
    records: str = ""  # json: dotted path to the record list; xml: the record element's tag
    options: dict[str, Any] = field(default_factory=dict)  # reader-specific settings
    task: str = ""  # the task the corpus serves (qa, nli, coreference …); needs mapping
    mapping: TaskMapping | None = None
    id_prefix: str = ""  # put before every record id (set per file for a glob)
    profile: str = ""  # the profile the loader merged in (kept for the record)

    def __post_init__(self):
        if self.task and self.task not in SOURCE_TASK_FIELDS:
            raise ValueError(f"source {self.name!r}: task {self.task!r} is not one of {', '.join(SOURCE_TASK_FIELDS)}")
        if bool(self.task) != (self.mapping is not None):
            raise ValueError(f"source {self.name!r}: 'task' and 'mapping' go together")


@dataclass
class ExtractSpec:
    """How templates are found in one source's records."""

    source: str  # a SourceSpec name
    task: str
    # task text field -> source record field; empty: the source's mapped task fields (same task only)
    fields: dict[str, str] = field(default_factory=dict)
    rule: str = "person_mentions"  # an extractor registered in transforms.extract
    answer: str = ""  # source field holding the gold answer / label
    options: str = ""  # source field holding the options, "a|b|c" or a list
    settings: dict[str, Any] = field(default_factory=dict)  # rule parameters
    # candidate filters after extraction, in order: {rule: <name>, <its parameters>} (transforms.candidate_filters)
    filters: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self):
        if self.task not in TASK_FIELDS:
            raise ValueError(f"task {self.task!r} is not one of {', '.join(TASK_FIELDS)}")


@dataclass
class TemplateFileSpec:
    """Templates already written with slots, in the canonical form or another syntax."""

    path: str
    format: str = "canonical"  # an importer registered in transforms.importers
    task: str = ""
    source_dataset: str = ""
    license: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilterSpec:
    """Which template candidates are kept, and which source records are too big to parse.

    ``max_chars`` is checked twice: on a source record's task fields before extraction
    (an over-long record is quarantined, never parsed) and on the template after.
    ``max_record_bytes`` (0: no limit) quarantines a record at ingest, by its raw size.
    """

    min_chars: int = 10
    max_chars: int = 4000
    max_referents: int = 2
    # exact: by normalised text; near: exact, then by similarity (transforms.near_dedup); none
    dedup: Literal["exact", "near", "none"] = "exact"
    near_threshold: float | None = None  # MiniLM cosine / MinHash Jaccard at or above which two are near; None: method default
    near_method: Literal["auto", "minilm", "minhash"] = "auto"  # auto: MiniLM when the semantic extra is installed
    exclude_sources: list[str] = field(default_factory=list)
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES

    def __post_init__(self):
        if self.max_record_bytes < 0:
            raise ValueError(f"max_record_bytes must be 0 (no limit) or more, not {self.max_record_bytes}")
        if self.near_threshold is not None and not 0.0 < self.near_threshold <= 1.0:
            raise ValueError(f"near_threshold must be in (0, 1], not {self.near_threshold}")


@dataclass
class CurationSpec:
    """A curator's decisions on extracted candidates, by template id (``biasbench extract``'s review file).

    ``reject``: dropped. ``accept``: approved; with ``only_accepted`` nothing else is kept.
    ``edits``: template id -> {text key: new text in the slot syntax} (the edited template gets
    a new, content-derived id and keeps the old one in its provenance).
    """

    accept: list[str] = field(default_factory=list)
    reject: list[str] = field(default_factory=list)
    edits: dict[str, dict[str, str]] = field(default_factory=dict)
    only_accepted: bool = False

    def counts(self) -> dict[str, int]:
        """What the card reports: decisions by kind."""
        return {"accepted": len(self.accept), "rejected": len(self.reject), "edited": len(self.edits)}

    def __post_init__(self):
        both = sorted(set(self.accept) & set(self.reject))
        if both:
            raise ValueError(f"template {both[0]} is both accepted and rejected")


@dataclass
class LexiconSpec:
    """A set of fillers. ``format`` names a loader in transforms.lexicons."""

    name: str
    path: str = ""
    format: str = "jsonl"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class GroupSpec:
    """One group of a config's axis, in release order."""

    name: str
    lexicon_group: str = ""  # the lexicon group it draws from; default: name
    count: int | None = None  # fillers per template; default: the design's per_group, or all
    sample: bool = True  # False: take the first `count` entries in lexicon order, never sampled

    @property
    def source_group(self) -> str:
        return self.lexicon_group or self.name


@dataclass
class DesignSpec:
    """How fillers are chosen for each template × group block.

    - ``all``: every entry of the group (full factorial).
    - ``sample``: ``per_group`` entries, seeded by (seed, template id, group):
      stable under any sharding or runner.
    - ``sequential``: CPython ``random.seed(seed)`` once, then ``random.sample``
      per template in template order and group order (how CALM v1 was drawn).
    """

    strategy: Literal["all", "sample", "sequential", "four_way"] = "all"
    per_group: int | None = None
    seed: int | None = None  # default: the spec's seed
    # ``sample`` only: balance each block across the values of this entry feature (e.g. "gender"),
    # restricted to ``strata`` when given (entries with other values are never drawn)
    stratify: str = ""
    strata: list[str] = field(default_factory=list)
    # ``four_way`` only (the two-person QA design, transforms.four_way): who fills the two roles
    # (``pairing: bbq``, with BBQ's proper names in ``names_lexicon``), the "unknown" phrasings
    # (default BBQ's ten), and the article rule (``sound``, or ``bbq_v1``: BBQ's published rule)
    pairing: str = ""
    names_lexicon: str = ""
    unknown_options: list[str] = field(default_factory=list)
    articles: Literal["sound", "bbq_v1"] = "sound"


@dataclass
class ConfigSpec:
    """One release config: the rows of one task along one axis (``qa_gender``)."""

    name: str
    task: str
    axis: str = ""  # empty only with ``axes_from_lexicon``
    lexicon: str = ""
    groups: list[GroupSpec] = field(default_factory=list)
    design: DesignSpec = field(default_factory=DesignSpec)
    fill_type: Literal["explicit", "implicit"] = "implicit"
    referents: dict[str, str] = field(default_factory=dict)  # referent -> lexicon, when not `lexicon`
    template_filter: dict[str, list[str]] = field(default_factory=dict)  # template key -> allowed values
    metadata_columns: list[str] = field(default_factory=list)  # template metadata / entry features copied
    split: str = "test"
    # every group of the lexicon's entries on `axis`, in lexicon order, instead of listing `groups`
    # (resolved by transforms.plan once the lexicons are loaded: ``resolve_groups``)
    groups_from_lexicon: bool = False
    # one config per axis of the lexicon's entries, in lexicon order, named ``<name>_<axis>``, instead of one
    # config on `axis` (expanded by transforms.plan once the lexicons are loaded: ``expand_lexicon_axes``)
    axes_from_lexicon: bool = False

    def __post_init__(self):
        # the config and split names become release paths (data/<config>/<split>-…parquet)
        check_name("config", self.name)
        check_split(self.split)
        if self.task not in TASK_FIELDS:
            raise ValueError(f"task {self.task!r} is not one of {', '.join(TASK_FIELDS)}")
        if not self.lexicon:
            raise ValueError(f"config {self.name!r}: 'lexicon' is required")
        if self.axes_from_lexicon and self.axis:
            raise ValueError(f"config {self.name!r}: set 'axis' or 'axes_from_lexicon', not both")
        if not self.axes_from_lexicon and not self.axis:
            raise ValueError(f"config {self.name!r}: 'axis' is required (or 'axes_from_lexicon: true')")
        if self.groups_from_lexicon:
            if self.groups:
                raise ValueError(f"config {self.name!r}: list 'groups' or set 'groups_from_lexicon', not both")
            return
        names = [g.name for g in self.groups]
        if not names:
            raise ValueError(f"config {self.name!r} has no groups")
        if len(set(names)) != len(names):
            raise ValueError(f"config {self.name!r} lists a group twice")

    def for_axis(self, axis: str) -> "ConfigSpec":
        """``axes_from_lexicon``: this config's settings on one axis, named ``<name>_<axis>``."""
        from dataclasses import replace

        return replace(self, name=f"{self.name}_{axis}", axis=axis, axes_from_lexicon=False, groups=list(self.groups))

    def resolve_groups(self, lexicon_groups) -> None:
        """``groups_from_lexicon``: one group per distinct lexicon group, in the order given."""
        if self.groups_from_lexicon:
            self.groups = [GroupSpec(name=g) for g in dict.fromkeys(lexicon_groups)]


@dataclass
class ValidationSpec:
    """Thresholds of the release gate (validation.gate)."""

    max_lint_failures: int = 0
    require_balanced_groups: bool = True
    min_rows: int = 1
    min_distinct_2: float = 0.0  # distinct bigrams / bigrams over a config's first text field
    max_leftover_markers: int = 0
    max_grammar_findings: int = 0  # cells (rows x text fields) the parser-based grammar check flags
    # how the similarity figures are measured: named in the spec, not taken from what is installed, so a
    # release and its gate are the same wherever it is built (MiniLM cosines run higher than TF-IDF's on
    # the same texts, and cost minutes on large releases); minilm without the semantic extra falls back
    # to tfidf-cosine, and stats.json names the method used
    similarity_method: Literal["tfidf-cosine", "minilm"] = "tfidf-cosine"
    # thresholds on the figures of validation.stats (validation.gate.FIGURE_THRESHOLDS); None: not checked
    min_templates: int | None = None
    min_sources: int | None = None
    min_template_length_mean: float | None = None
    min_template_length_cv: float | None = None
    max_template_similarity: float | None = None
    max_row_similarity: float | None = None
    min_distinct_1: float | None = None
    min_distinct_3: float | None = None
    min_vocabulary: int | None = None
    max_self_bleu: float | None = None
    max_source_share: float | None = None
    max_task_share: float | None = None
    max_group_uniform_distance: float | None = None
    min_length_parity: float | None = None


@dataclass
class ReleaseSpec:
    rows_per_shard: int = 500_000
    row_group_size: int = 100_000
    card_title: str = ""
    card_description: str = ""
    citation: str = ""
    changelog: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)  # known confounds, listed first under the card's Limitations


@dataclass
class BenchmarkSpec:
    benchmark: str
    version: str = "0.1.0"
    description: str = ""
    license: str = "unknown"
    seed: int = 0
    sources: list[SourceSpec] = field(default_factory=list)
    extract: list[ExtractSpec] = field(default_factory=list)
    template_files: list[TemplateFileSpec] = field(default_factory=list)
    filters: FilterSpec = field(default_factory=FilterSpec)
    curation: CurationSpec = field(default_factory=CurationSpec)
    lexicons: list[LexiconSpec] = field(default_factory=list)
    configs: list[ConfigSpec] = field(default_factory=list)
    article_overrides: dict[str, str] = field(default_factory=dict)
    validation: ValidationSpec = field(default_factory=ValidationSpec)
    release: ReleaseSpec = field(default_factory=ReleaseSpec)
    confine_inputs: bool = False  # read only inside --data-dir and the spec's folder (pipelines.confine)
    # set by load_spec, not by the YAML
    spec_path: str = ""
    base_dir: str = ""  # where relative data paths resolve (--data-dir, else the spec's folder)
    spec_hash: str = ""

    def __post_init__(self):
        check_name("benchmark", self.benchmark)  # the release folder: OUT/<benchmark>/<version>
        check_version(self.version)
        if not self.configs:
            raise ValueError("a spec needs at least one entry under 'configs'")
        lexicons = {lex.name for lex in self.lexicons}
        sources = {s.name for s in self.sources}
        for i, c in enumerate(self.configs):
            for lex in [c.lexicon, *c.referents.values(), *([c.design.names_lexicon] if c.design.names_lexicon else [])]:
                if lex not in lexicons:
                    raise ValueError(f"configs[{i}] ({c.name}) uses lexicon {lex!r}, not defined under 'lexicons'")
        by_name = {s.name: s for s in self.sources}
        for i, e in enumerate(self.extract):
            if e.source not in sources:
                raise ValueError(f"extract[{i}] reads source {e.source!r}, not defined under 'sources'")
            if not e.fields:
                src = by_name[e.source]
                if src.task != e.task:
                    raise ValueError(f"extract[{i}] ({e.source}) has no 'fields', which needs source "
                                     f"{e.source!r} mapped to task {e.task!r} (it is {src.task or 'not mapped'})")
                # a mapped record's fields are the task's own: read them as they are
                e.fields = {f: f for f in TASK_FIELDS[e.task]}
                e.answer = e.answer or "answer"
                e.options = e.options or "options"
        if len({c.name for c in self.configs}) != len(self.configs):
            raise ValueError("two configs share a name")

    def resolve(self, path: str) -> str:
        """A data path as the pipeline opens it (absolute, or a URL left alone)."""
        if "://" in path or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(self.base_dir, path))
