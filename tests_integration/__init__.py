"""Tests that start real components (PostgreSQL, moto's AWS): run after the unit suite, outside its time budget.

`python -m pytest -q tests_integration` runs them; `.ci/run` does, right after the unit suite.
"""
