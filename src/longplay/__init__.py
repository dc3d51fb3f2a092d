"""Longplay: build, mirror and play an open music preservation archive."""

__version__ = "0.1.0"
