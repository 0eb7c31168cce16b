"""Test support shipped with the package: synthetic raw data, planted products, in-memory
implementations of the domain protocols. Used by tests, benchmarks and the domain's demo."""
