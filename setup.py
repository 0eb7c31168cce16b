"""Build step for the one native module: desensitize/_hmac.c (HMAC-SHA256 over Arrow strings,
linked to OpenSSL's libcrypto). It is optional: without a C compiler or OpenSSL's headers the
install still succeeds and pseudonyms are computed in DuckDB SQL instead (same values, slower).
Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("desensitize._hmac", ["desensitize/_hmac.c"], libraries=["crypto"],
                             extra_compile_args=["-O2"], optional=True)])
