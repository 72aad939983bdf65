"""Random programs compared with plain Python: see ``run.py`` (and ``tests/test_differential.py``)."""
