"""End-to-end tests: the RS on the unix port over UDP loopback (a package, so that its
conftest does not shadow tests/conftest.py for `from conftest import ...`)."""
