"""The test suite, a package so that its helpers (tests.support) import the same way from
pytest, from the hostile scripts and from bench/ (with the repository root on the path)."""
