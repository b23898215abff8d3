"""Records, spec types, slot syntax and release file helpers: the layer every other one imports."""

#: biasbench's version (setup.py reads it from here; ``biasbench --version`` prints it; manifests record it)
__version__ = "0.1.0"
