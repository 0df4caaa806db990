"""The one compiled part: the batched HMAC of pseudonymisation (docs/dependencies.md). Everything else is in
pyproject.toml. Optional: without a C compiler or OpenSSL's headers the package installs anyway and hashes in
Python, with the same pseudonyms."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("hub.collection._hmac", sources=["hub/collection/_hmac.c"], libraries=["crypto"],
                             extra_compile_args=["-O2"], optional=True)])
