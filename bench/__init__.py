"""Benchmarks of okta-alerts against naive baselines run side by side: ``python -m bench``.

Results are ratios against a baseline measured on the same machine in the same run; they are
written to ``bench/results/<name>-<UTC timestamp>.json`` and ``bench/results/latest-<name>.json``.
"""
