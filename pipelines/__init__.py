"""Assembling and running: spec loading, runners, build/rebuild/publish, the CLI."""
