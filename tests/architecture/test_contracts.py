"""The architecture contract (import-linter, in pyproject.toml) holds, and it would catch a
reversed import; every core module has its layer and its line in docs/architecture.md.

Runs in the ``lint`` environment, where import-linter is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in CONFIG["tool"]["importlinter"]["contracts"]}
SOURCES = ("core", "plugins/mock", "plugins/alpaca")


def layered_modules() -> list[str]:
    return [name.strip() for layer in CONTRACTS["core-layers"]["layers"]
            for name in layer.split("|")]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the copy of the sources at ``tree`` (its own pyproject.toml)."""
    path = ":".join(str(tree / source) for source in SOURCES)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--config", str(tree / "pyproject.toml"),
         "--no-cache"], capture_output=True, text=True, cwd=tree, timeout=120, check=False,
        env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the sources and the contract, to break on purpose."""
    for source in SOURCES:
        shutil.copytree(ROOT / source, tmp_path / source,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n{statement}\n",
                      encoding="utf-8")


def test_the_contracts_hold(tree: Path) -> None:
    kept = lint_imports(tree)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "3 kept, 0 broken" in kept.stdout


@pytest.mark.parametrize(("module", "statement", "contract"), [
    ("core/venuekit/model.py", "from venuekit import engine  # noqa", "core's layers"),
    ("core/venuekit/journal/base.py", "from venuekit.runs import book  # noqa",
     "core's layers"),
    ("core/venuekit/engine.py", "from venuekit.strategies import run_strategy  # noqa",
     "core's layers"),
    ("plugins/mock/venuekit_mock/venue.py", "from venuekit.engine import Engine  # noqa",
     "public API"),
    ("plugins/mock/venuekit_mock/venue.py", "import venuekit_alpaca  # noqa",
     "No plugin imports another"),
    ("plugins/alpaca/venuekit_alpaca/venue.py", "from venuekit_mock import sim  # noqa",
     "No plugin imports another"),
])
def test_a_reversed_import_breaks_the_contract(tree: Path, module: str, statement: str,
                                                contract: str) -> None:
    add_import(tree / module, statement)
    broken = lint_imports(tree)
    assert broken.returncode != 0, broken.stdout
    assert "1 broken" in broken.stdout and contract in broken.stdout, broken.stdout


def test_every_core_module_has_a_layer() -> None:
    package = ROOT / "core" / "venuekit"
    modules = {f"venuekit.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"venuekit.{p.name}" for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert sorted(modules - set(layered_modules())) == [], \
        "place the new module in the core-layers contract (pyproject.toml) and in " \
        "docs/architecture.md"


def test_no_core_module_imports_the_package_root() -> None:
    """The package root re-exports the public names (lazily): a module importing it would
    import everything above itself."""
    graph = grimp.build_graph("venuekit")
    importers = sorted(m for m in graph.find_modules_that_directly_import("venuekit")
                       if m != "venuekit")
    assert importers == ["venuekit.__main__"] or importers == [], importers


def test_the_architecture_page_names_every_layered_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(venuekit(?:\.[a-z_]+)+)`", page))
    assert sorted(set(layered_modules()) - named) == []


def test_the_package_root_exports_each_lazy_name_and_resolves_it() -> None:
    """``__all__`` is written out for type checkers; it must list exactly the names the root
    loads on first use (and the two it holds itself), and each must resolve."""
    import venuekit

    lazy = set(venuekit._LAZY)
    assert set(venuekit.__all__) == lazy | {"__version__", "hookimpl"}
    for name in sorted(lazy):
        assert getattr(venuekit, name) is not None, name
