"""Benchmarks of openefd (run ``scripts/bench``; see ``bench/README.md``).

Speed is measured here, never asserted as a wall-clock bound in a test.
"""
