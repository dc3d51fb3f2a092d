"""Fixtures shared across test modules, one plugin module per area."""

pytest_plugins = ["audiofixtures"]
