"""`make typecheck`: the firmware against each board's MicroPython API, without the board.

For each board in boards/: the modules its manifest freezes (read by the same function as
`microace deploy`) and the test stand-ins for port modules its stubs provide are checked by
basedpyright against that board's stubs only (build/stubs/BOARD, pinned in config.toml,
installed here on first use). Then host_tools against CPython. A diagnostic listed in
known.toml (a stub limitation, the checker's inference of the code's own unannotated state,
or a path the unix board never takes, each with its reason) is allowed; anything else fails
the run, and so does a listed entry that no longer occurs anywhere (it would hide a future
finding).
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "typecheck"
BUILD = ROOT / "build"
STUBS = BUILD / "stubs"
WORK = BUILD / "typecheck"
FIRMWARE = ROOT / "firmware"
CHECKER = Path(sys.executable).with_name("basedpyright")

sys.path.insert(0, str(ROOT / "host_tools"))
from microace_host.firmware import BOARDS, manifest_modules  # noqa: E402


def load(name):
    with open(HERE / name, "rb") as f:
        return tomllib.load(f)


def install_stubs(board, config):
    """build/stubs/BOARD: the board's stub package and the MicroPython stdlib stubs, pinned;
    reinstalled only when the pins change."""
    pins = [config["stubs"][board], config["stubs"]["stdlib"]]
    target = STUBS / board
    stamp = target / ".pins"
    if stamp.exists() and stamp.read_text() == "\n".join(pins):
        return target
    shutil.rmtree(target, ignore_errors=True)
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--no-compile", "--disable-pip-version-check", "--target",
                          str(target), *pins], capture_output=True, text=True)
    if run.returncode:
        sys.exit("typecheck: cannot install %s: %s" % (" ".join(pins), run.stderr[-2000:]))
    stamp.write_text("\n".join(pins))
    return target


def public_api(path, name):
    """Names class NAME (dotted for a nested class) of a stand-in offers as port API: its
    public methods and classes and its UPPER_CASE constants (lower-case class attributes are
    the test's own controls, e.g. _FakeNVS.cut)."""
    body = ast.parse(path.read_text()).body
    for part in name.split("."):
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == part).body
    names = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper())
    return [n for n in names if not n.startswith("_")]


def names_check(standins, out):
    """A file that names, on the stubs, every port name the stand-ins define: a stand-in
    method the port lacks is an unknown attribute there. -> {line: (stand-in, name)}"""
    lines, where = [], {}
    for s in standins:
        path = ROOT / s["file"]  # an absolute file stays itself
        for cls, target in s.get("classes", {}).items():
            module = target.split(".")[0]
            lines.append("import %s" % module)
            for name in public_api(path, cls):
                lines.append("_ = %s.%s" % (target, name))
                where[len(lines)] = ("%s %s" % (s["file"], cls), "%s.%s" % (target, name))
    out.write_text("\n".join(lines) + "\n")
    return where


def pyright(config_path, python=None):
    """Run the checker on one configuration -> its diagnostics (errors and warnings)."""
    cmd = [str(CHECKER), "--outputjson", "-p", str(config_path)]
    if python:
        cmd += ["--pythonpath", python]
    run = subprocess.run(cmd, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        sys.exit("typecheck: %s failed: %s" % (CHECKER.name, (run.stderr or run.stdout)[-2000:]))
    return [d for d in report["generalDiagnostics"] if d["severity"] in ("error", "warning")]


def check_board(board, config, stub_dir):
    """-> diagnostics of BOARD's firmware (its manifest's modules) and of the stand-ins its
    stubs can judge, as (file, line, rule, message)."""
    files = [FIRMWARE / m for m in manifest_modules(board)]
    files += [FIRMWARE / o["file"] for o in config.get("optional", [])
              if (stub_dir / (o["on_boards_with"] + ".pyi")).exists()
              and o["file"] not in manifest_modules(board)]
    for folder in config.get("scripts", {}).get(board, []):
        files += sorted((ROOT / folder).glob("*.py"))
    standins = [s for s in config["standin"]
                if (stub_dir / (s["on_boards_with"] + ".pyi")).exists()]
    return check(WORK / board, config["firmware"], stub_dir, files, standins)


def check(work, rules, stub_dir, files, standins):
    """Check FILES and the STANDINS (config.toml entries) against the stubs in STUB_DIR,
    with the checker settings RULES; WORK holds the generated configuration."""
    work.mkdir(parents=True, exist_ok=True)
    files = list(files) + [ROOT / s["file"] for s in standins]
    names = work / "standin_names.py"
    where = names_check(standins, names)
    settings = dict(rules)
    settings.update({
        "include": [str(f) for f in files] + [str(names)],
        "extraPaths": [str(FIRMWARE)],
        "typeshedPath": str(stub_dir),
        "stubPath": str(stub_dir),
        "pythonVersion": "3.11",  # the language MicroPython parses; its library is the stubs
        "pythonPlatform": "Linux",
    })
    (work / "pyrightconfig.json").write_text(json.dumps(settings, indent=1))
    found = []
    for d in pyright(work / "pyrightconfig.json", python=os.devnull):
        line = d["range"]["start"]["line"] + 1
        if Path(d["file"]) == names:
            standin, name = where[line]
            found.append((standin, 0, "standin-name",
                          "defines %s, which this port's stubs lack" % name))
        else:
            found.append((_short(d["file"]), line, d.get("rule", ""), d["message"]))
    return found


def check_host(config):
    work = WORK / "host"
    work.mkdir(parents=True, exist_ok=True)
    package = ROOT / "host_tools" / "microace_host"
    settings = dict(config["host"])
    settings.update({"include": [str(package)], "exclude": [str(package / "mp")],
                     "strict": [str(ROOT / f) for f in settings.get("strict", [])],
                     "pythonVersion": "3.11"})
    (work / "pyrightconfig.json").write_text(json.dumps(settings, indent=1))
    return [(_short(d["file"]), d["range"]["start"]["line"] + 1, d.get("rule", ""),
             d["message"]) for d in pyright(work / "pyrightconfig.json", python=sys.executable)]


def _short(path):
    p = Path(path)
    for base in (FIRMWARE, ROOT):
        if p.is_relative_to(base):
            return str(p.relative_to(base))
    return path


def allowed(known, target, diagnostic):
    """The known.toml entry that allows DIAGNOSTIC on TARGET (a board or "host"), or None."""
    file, _, rule, message = diagnostic
    for entry in known:
        on = target in entry["where"] or ("boards" in entry["where"] and target != "host")
        if on and entry["file"] == file and entry["rule"] == rule and entry["message"] in message:
            return entry
    return None


def main():
    config = load("config.toml")
    known = load("known.toml").get("known", [])
    boards = sorted(p.parent.name for p in BOARDS.glob("*/manifest.py"))
    missing = [b for b in boards if b not in config["stubs"]]
    if missing:
        sys.exit("typecheck: no stubs pinned in typecheck/config.toml for board(s) %s"
                 % ", ".join(missing))
    results = {b: check_board(b, config, install_stubs(b, config)) for b in boards}
    results["host"] = check_host(config)
    used, failed = set(), 0
    for target, diagnostics in results.items():
        bad = []
        for d in diagnostics:
            entry = allowed(known, target, d)
            if entry is None:
                bad.append(d)
            else:
                used.add(id(entry))
        print("typecheck %-16s %3d diagnostics, %d listed in known.toml, %d new"
              % (target, len(diagnostics), len(diagnostics) - len(bad), len(bad)))
        for file, line, rule, message in bad:
            print("  %s:%d [%s] %s" % (file, line, rule, message.replace("\n", "\n    ")))
        failed += len(bad)
    stale = [e for e in known if id(e) not in used]
    for e in stale:
        print("typecheck: known.toml entry matches nothing any more, remove it: %s [%s] %r"
              % (e["file"], e["rule"], e["message"]))
    if failed or stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
