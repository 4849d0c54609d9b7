"""Benchmarks: `python -m bench [--quick]` prints a table and writes bench/results.json."""
