"""Benchmarks of the accountability graph at county and province scale, side by side with two baselines.

    python -m benchmarks [--scale county|province|both] [--runs N] [--smoke] [--data DIR]

Every figure is measured in one run of that command, each step in a fresh process (so that its peak
memory is its own), as the median of ``--runs`` runs with min and max. See ``benchmarks/results.md``.

- ``steps``: the measured steps (import, trace --all, single traces, baselines, the app's pages);
- ``baselines``: the naive per-hazard networkx traversal and the pandas/NumPy lower bound;
- ``runner``: a step in a fresh process, its wall time and RSS high-water mark;
- ``data``: the demo datasets, generated once per (scale, seed, generator version), and the machine;
- ``report``: the Markdown table.

Every step runs under ``--rules`` (default: the product's, reference-v2); the baselines follow the ruleset's
generation (``baselines``).
"""
