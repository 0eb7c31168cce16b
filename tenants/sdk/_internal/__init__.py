"""Internals of the aod client SDK: not a public API, may change at any time."""
