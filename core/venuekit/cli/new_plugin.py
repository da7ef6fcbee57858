"""``venuekit new-plugin NAME``: a new venue plugin distribution, wired to the conformance kit.

The files come from the template shipped in this package (``plugin_template/``, rendered
with :class:`string.Template`): a pyproject with the ``venuekit`` entry point, a venue
skeleton, an emulator skeleton backed by venuekit-mock's matching engine, the kit's
market-control handle, and a test module that runs the kit.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from ..errors import Code, VenueKitError, error
from ..version import __version__
from .output import emit_json
from .session import fail

__all__ = ["new_plugin_command", "render_plugin"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SUFFIX = ".tmpl"
_PACKAGE_DIR = "__package__"


def _variables(name: str) -> dict[str, str]:
    major, minor = (int(part) for part in __version__.split(".")[:2])
    words = name.split("_")
    return {
        "name": name,
        "package": f"venuekit_{name}",
        "distribution": f"venuekit-{name.replace('_', '-')}",
        "cls": "".join(word.capitalize() for word in words),
        "title": " ".join(word.capitalize() for word in words),
        "upper": name.upper(),
        "venuekit_range": f">={major}.{minor},<{major}.{minor + 1}",
    }


def _walk(folder: Traversable, relative: Path) -> list[tuple[Path, Traversable]]:
    found: list[tuple[Path, Traversable]] = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.is_dir():
            found.extend(_walk(item, relative / item.name))
        elif item.name.endswith(_SUFFIX):
            found.append((relative / item.name[:-len(_SUFFIX)], item))
    return found


def render_plugin(name: str, directory: Path) -> Path:
    """Write the plugin distribution for venue ``name`` into ``directory``/venuekit-NAME.

    Raises ``INVALID_CONFIG`` for a name that cannot be a venue, entry point and package
    name, or when the target folder already exists and is not empty.
    """
    if not _NAME.match(name):
        raise error(Code.INVALID_CONFIG,
                    f"{name!r} cannot name a venue: use 1 to 40 lowercase letters, digits or "
                    "underscores, starting with a letter (it becomes the venue name, the entry "
                    "point and the package venuekit_NAME)")
    values = _variables(name)
    target = directory / values["distribution"]
    if target.exists() and any(target.iterdir()):
        raise error(Code.INVALID_CONFIG,
                    f"{target} already exists and is not empty: choose another --directory "
                    "or remove it")
    template = resources.files("venuekit.cli").joinpath("plugin_template")
    for relative, source in _walk(template, Path()):
        parts = [values["package"] if part == _PACKAGE_DIR else part for part in relative.parts]
        path = target.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = string.Template(source.read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
    return target


@click.command("new-plugin")
@click.argument("name")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="The parent folder of the new plugin folder.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the folder and the files created as JSON.")
def new_plugin_command(name: str, directory: Path, as_json: bool) -> None:
    """Create a venue plugin distribution for venue NAME, wired to the conformance kit.

    NAME is the venue's name: lowercase letters, digits and underscores. It becomes the
    venue name and the entry point in group `venuekit`; for `acme` the package is
    venuekit_acme and the distribution venuekit-acme.

    \b
    The folder holds:
      pyproject.toml               the distribution and its entry point
      venuekit_acme/venue.py       the venue skeleton (the Venue contract)
      venuekit_acme/emulator.py    the emulator skeleton, backed by venuekit-mock
      venuekit_acme/testing.py     the conformance kit's market-control handle
      tests/test_conformance.py    the kit, run against the emulator

    \b
    Then:
      pip install -e "./venuekit-acme[test]"
      cd venuekit-acme && pytest

    Every failing standard test says what to implement next; `venuekit plugins` lists
    the plugin once it is installed. Exits 2 when NAME is not valid or the folder
    exists and is not empty.
    """
    try:
        target = render_plugin(name, directory)
    except VenueKitError as exc:
        fail(exc)
        return
    if as_json:
        emit_json({"created": str(target),
                   "files": sorted(str(path.relative_to(target))
                                   for path in target.rglob("*") if path.is_file()),
                   "next": [f'pip install -e "{target}[test]"', f"cd {target} && pytest"]})
        return
    click.echo(f"created {target}")
    click.echo(f'next: pip install -e "{target}[test]", then run pytest in {target}')
