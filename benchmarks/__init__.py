"""Benchmarks: scripts that print tables, run from the repository root as modules (``python -m benchmarks.jmt``);
their current figures are in benchmarks/README.md."""
