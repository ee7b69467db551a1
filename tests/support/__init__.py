"""Support code for tests and benchmarks (not shipped with the package)."""
