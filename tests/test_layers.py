"""The house rules: one import namespace, and layers that point one way.

- base (modules directly in ``hil/``): imports nothing above it;
- drivers, sim, models: the base and themselves (sim and models never each other);
- protocols: the base, themselves and models (training procedures need a model), never a twin or a driver class;
- app (``hil/app``: CLI and demo): anything.

Every import statement is checked, at any depth (a lazy import inside a function
counts), and so is every ``importlib.import_module("...")`` / ``__import__``
with a literal name: importing by string does not dodge the rule.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"hil": "hil", "drivers": "hil.drivers", "sim": "hil.sim", "models": "hil.models", "benches": "hil.benches",
           "protocols": "hil.protocols"}
ALLOWED = {
    "base": {"base"},
    "drivers": {"base", "drivers"},
    "sim": {"base", "sim"},
    "models": {"base", "models"},
    "protocols": {"base", "protocols", "models"},
    "app": {"base", "drivers", "sim", "models", "protocols", "app"},
}
OLD_TOP_LEVEL = {"drivers", "sim", "models", "protocols"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0] = FOLDERS[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer of a module of this project, or None for a third-party/stdlib module."""
    parts = module.split(".")
    if parts[0] != "hil":
        return None
    if len(parts) == 1:
        return "base"
    return {"app": "app", "drivers": "drivers", "sim": "sim", "models": "models",
            "protocols": "protocols"}.get(parts[1], "base")


def project_files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path, here: str | None = None) -> list[tuple[int, str]]:
    """Every module name ``path`` imports (absolute, relative resolved, and literal import-by-string)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names if layer_of(f"{target}.{a.name}")]
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
                found.append((node.lineno, str(node.args[0].value)))
    return found


def test_rule_checker_sees_a_violation(tmp_path):
    # the checker itself must be able to fail: a lazy import, a relative one and an import-by-string
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from hil.models import classifier\n    import importlib\n"
                    "    importlib.import_module('hil.sim.llg')\n    from .app import cli\n")
    targets = [t for _, t in imports_of(fake, here="hil.probe")]
    assert {"hil.models", "hil.sim.llg", "hil.app"} <= set(targets)
    assert {layer_of(t) for t in targets} - ALLOWED["base"] - {None} == {"models", "sim", "app"}


def test_no_module_imports_a_layer_above_its_own():
    bad = []
    for path in project_files():
        layer = layer_of(module_name(path))
        for line, target in imports_of(path):
            got = layer_of(target)
            if got is not None and got not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {target} ({got})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_nothing_uses_the_old_top_level_names():
    files = project_files() + sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    bad = []
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in OLD_TOP_LEVEL]
    assert not bad, bad


def test_base_modules_load_no_higher_layer_in_a_fresh_interpreter():
    base = [module_name(p) for p in project_files() if layer_of(module_name(p)) == "base"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in base)
            + "print(sorted(m for m in sys.modules if "
              "m.startswith(('hil.app', 'hil.drivers', 'hil.sim', 'hil.models', 'hil.protocols'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {module_name(p) for p in project_files() if p.name == "__init__.py"}
    assert listed == folders
    assert all(name == "hil" or name.startswith("hil.") for name in listed)


def test_old_top_level_names_do_not_import_outside_the_checkout(tmp_path):
    code = ("import importlib\n"
            "for name in ('models', 'sim', 'drivers', 'protocols'):\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "        print('importable', name)\n"
            "    except ImportError:\n"
            "        pass\n"
            "import hil.models, hil.sim.llg, hil.drivers, hil.protocols\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok"]


@pytest.mark.slow
def test_wheel_holds_only_the_one_top_level_package(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    wheel, = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"hil"}
    assert "hil/sim/llg/integrator.py" in names and "hil/drivers/keithley.py" in names
    assert "hil/benches/sim.toml" in names  # the default bench travels with the wheel
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "[spin_hil.drivers]" in zipfile.ZipFile(wheel).read(entry_points).decode()
