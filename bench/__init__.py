"""Benchmarks: ``python -m bench`` runs every ``bench/<area>/run.py`` (``make bench``)."""
