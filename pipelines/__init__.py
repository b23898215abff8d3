"""Assembling and running: spec loading, runners, build/rebuild/publish, the CLI."""

#: biasbench's version (setup.py reads it from here; ``biasbench --version`` prints it)
__version__ = "0.1.0"
