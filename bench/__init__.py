"""Benchmarks: each script compares a figure with a baseline measured in the same run and prints ratios.

``python -m bench [names...]`` runs every benchmark (or the named ones) in its own subprocess and prints a
summary table; see ``bench/__main__.py``. Each script also runs alone:
``uv run --no-sync python bench/bench_<name>.py``.
"""
