"""Deterministic generators of input data that the tests and the benchmarks share."""
