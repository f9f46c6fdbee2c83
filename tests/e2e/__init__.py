"""End-to-end tests: the RS on the unix port over UDP loopback (a package, so that its test
modules, named like other directories', import as tests.e2e.*)."""
