"""Benchmarks that print their figures next to a baseline measured in the same run.

``python -m bench`` runs every ``bench_*.py`` module's ``main()``; ``python -m bench NAME``
runs one (``startup`` or ``bench_startup``), passing any further arguments to it. Timings
are printed, never asserted: tests stay fast and deterministic, numbers stay honest.
"""
