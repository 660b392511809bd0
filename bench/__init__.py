"""Benchmarks for wzcheckin's hot paths (see bench/README.md). Run: ``python -m bench [--quick]``."""
