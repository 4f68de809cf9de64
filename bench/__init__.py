"""Benchmarks: each measures the platform against a bare baseline in the same run.

Run them all with ``bash bench/run``; the contract a ``bench/bench_*.py`` module
follows, and the helpers it can use, are in :mod:`bench.common`.
"""
