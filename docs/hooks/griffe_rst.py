"""A griffe extension for the API reference: the code's docstrings use reST roles
(``:class:`Venue```, ``:meth:`.open```) and literal blocks (``::``); mkdocstrings renders
Markdown. Each role becomes a cross-reference to the object it names (plain code when the
object is not found), and a paragraph ending in ``::`` ends in ``:`` (the indented block
after it is already code in Markdown). The docstrings themselves are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj|const|py:\w+):`(~?)([^`]+)`")
_LITERAL = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)
_BARE_LITERAL = re.compile(r"^([ \t]*)::[ \t]*$", re.MULTILINE)


class ReSTRoles(griffe.Extension):
    """Rewrite reST roles and literal-block markers in every docstring of a package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader,
                   **kwargs: Any) -> None:
        seen: set[int] = set()
        self._walk(pkg, loader, seen)

    def _walk(self, obj: griffe.Object, loader: griffe.GriffeLoader, seen: set[int]) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if obj.docstring is not None:
            obj.docstring.value = self._rewrite(obj.docstring.value, obj, loader)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, loader, seen)  # type: ignore[arg-type]

    def _rewrite(self, text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
        def role(match: re.Match[str]) -> str:
            short, target = match.group(1) == "~", match.group(2).strip()
            explicit = re.fullmatch(r"(.*?)\s*<(.+)>", target)
            title = None
            if explicit:
                title, target = explicit.group(1), explicit.group(2)
            name = target.lstrip(".").removesuffix("()")
            shown = title or (name.rsplit(".", 1)[-1] if short else target.lstrip("."))
            path = _find(name, obj, loader)
            if path is None:
                return f"`{shown}`"
            return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

        text = _ROLE.sub(role, text)
        text = _BARE_LITERAL.sub("", text)
        return _LITERAL.sub(r"\1:", text)


def _find(name: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str | None:
    """The canonical path of ``name`` as seen from ``obj``: absolute, then from each
    enclosing scope outwards."""
    scopes: list[str] = [""]
    scope: griffe.Object | None = obj
    while scope is not None:
        scopes.insert(0, scope.path + ".")
        scope = scope.parent  # type: ignore[assignment]
    for prefix in reversed(scopes[:-1]):  # innermost scope first
        found = _lookup(prefix + name, loader)
        if found:
            return found
    return _lookup(name, loader)


def _lookup(path: str, loader: griffe.GriffeLoader) -> str | None:
    try:
        found: Any = loader.modules_collection.get_member(path)
    except Exception:  # noqa: BLE001 - any failure means "not found"
        return None
    try:
        return str(found.canonical_path) if found is not None else None
    except Exception:  # noqa: BLE001 - an alias whose target is outside the loaded code
        return None
