"""Ship the firmware and the board definitions inside the package (microace_host/shipped/):
an installed `microace` deploys and runs the firmware of its own version, with no repository
around it. An editable install uses the repository's firmware/ and boards/ instead.
Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPO = Path(__file__).resolve().parent.parent
SHIPPED = {"firmware": ("*.py", "*.json"), "boards": ("*.py", "*.json")}


def _keep(patterns):
    def ignore(directory, names):
        return [n for n in names if not (Path(directory, n).is_dir() and n != "__pycache__")
                and not any(Path(n).match(p) for p in patterns)]
    return ignore


class BuildWithFirmware(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        shipped = Path(self.build_lib) / "microace_host" / "shipped"
        for tree, patterns in SHIPPED.items():
            if not (REPO / tree).is_dir():
                raise SystemExit("%s is missing: build from the microace repository"
                                 % (REPO / tree))
            shutil.rmtree(shipped / tree, ignore_errors=True)
            shutil.copytree(REPO / tree, shipped / tree, ignore=_keep(patterns))


setup(cmdclass={"build_py": BuildWithFirmware})
