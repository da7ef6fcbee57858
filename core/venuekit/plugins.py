"""The plugin host: loads plugins, keeps the registries, and calls hooks through typed methods.

Plugins are found in the ``venuekit`` entry point group (the entry point's name is the
plugin's name). ``VENUEKIT_LOAD_PLUGINS`` (comma separated) loads only the named
plugins, and an empty value loads none; ``VENUEKIT_DISABLE_PLUGINS`` skips the named
ones. Built-in components are plugin modules registered through the same hooks, under
names starting with ``venuekit.``; they always load unless ``VENUEKIT_DISABLE_PLUGINS``
names them. A plugin may register a name a built-in uses: the plugin's item wins.

A plugin that fails to import or register is recorded in :attr:`PluginHost.failures` with
its name and error; everything else keeps working.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from . import hookspecs
from .errors import Code, error
from .hookspecs import hookimpl
from .lifecycle import OrderEventRecord
from .version import __version__

__all__ = [
    "ENTRY_POINT_GROUP",
    "OrderEventRecord",
    "PluginFailure",
    "PluginHost",
    "PluginInfo",
    "Registry",
    "hookimpl",
]

log = logging.getLogger("venuekit.plugins")

ENTRY_POINT_GROUP = "venuekit"

# Built-in plugin modules, registered through the same hooks as third-party plugins.
BUILTIN_PLUGINS: tuple[str, ...] = ("venuekit.builtins",)

T = TypeVar("T")

# The venues and emulators of venuekit's own plugins: named when one is asked for and its
# plugin is not installed. (kind, name) -> (entry point name, distribution, its folder in a
# checkout of venuekit).
PROJECT_PLUGINS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("venue", "mock"): ("mock", "venuekit-mock", "plugins/mock"),
    ("venue", "alpaca"): ("alpaca", "venuekit-alpaca", "plugins/alpaca"),
    ("emulator", "alpaca"): ("alpaca", "venuekit-alpaca", "plugins/alpaca"),
    ("venue", "ccxt"): ("ccxt", "venuekit-ccxt", "plugins/ccxt"),
    ("venue", "binance"): ("ccxt", "venuekit-ccxt", "plugins/ccxt"),
    ("emulator", "binance"): ("ccxt", "venuekit-ccxt", "plugins/ccxt"),
    ("venue", "kis"): ("kis", "venuekit-kis", "plugins/kis"),
    ("emulator", "kis"): ("kis", "venuekit-kis", "plugins/kis"),
}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    version: str | None
    hooks: tuple[str, ...]
    distribution: str | None
    builtin: bool

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "hooks": list(self.hooks),
                "distribution": self.distribution, "builtin": self.builtin}


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A plugin that could not be loaded, with its error as text."""

    name: str
    error: str
    distribution: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "error": self.error, "distribution": self.distribution}


@dataclass
class Registry(Generic[T]):
    """Named items registered by plugins (venues, pricers, ...)."""

    kind: str
    _items: dict[str, T] = field(default_factory=dict)
    _owners: dict[str, str] = field(default_factory=dict)
    hint: str = ""
    """Said after a lookup that finds nothing (installed plugins the environment left out)."""
    missing: Callable[[str], str] | None = None
    """Said after a lookup of that name finds nothing (which plugin to install)."""

    def register(self, name: str, item: T, owner: str = "") -> None:
        if not name:
            raise ValueError(f"a {self.kind} needs a non-empty name")
        if name in self._items and self._items[name] is not item:
            log.warning("duplicate registration replaced",
                        extra={"kind": self.kind, "name_": name, "owner": owner,
                               "previous_owner": self._owners.get(name, "")})
        self._items[name] = item
        self._owners[name] = owner

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            code = Code.UNKNOWN_VENUE if self.kind == "venue" else Code.UNKNOWN_COMPONENT
            close = difflib.get_close_matches(name, list(self._items), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            install = self.missing(name) if self.missing is not None else ""
            raise error(code, f"no {self.kind} named {name!r} is registered{hint} (known: "
                        f"{known}){self.hint}{install}") from None

    def owner(self, name: str) -> str:
        return self._owners.get(name, "")

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)


def _split_env(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """The one typed facade over ``pluggy``: loading, listing, registries and hook calls."""

    def __init__(self, *, load_entry_points: bool = True,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.pm = pluggy.PluginManager("venuekit")
        self.pm.add_hookspecs(hookspecs)
        # Asked at every order event: the hook's caller, found once (it outlives
        # registrations), so that asking costs one call.
        self._order_event_hook = self.pm.hook.venuekit_order_event
        self.failures: list[PluginFailure] = []
        self._only = _split_env(env.get("VENUEKIT_LOAD_PLUGINS"))
        self._disabled = _split_env(env.get("VENUEKIT_DISABLE_PLUGINS")) or set()
        self._dists: dict[str, tuple[str | None, str | None]] = {}
        self.left_out: dict[str, str] = {}
        """Installed plugins not loaded, by name: the variable that left each out."""
        self._registries: dict[str, Registry[Any]] = {}
        for module_name in BUILTIN_PLUGINS:
            if module_name not in self._disabled:
                self._register_builtin(module_name)
        if load_entry_points:
            self._load_entry_points()
        self.pm.check_pending()

    # loading ------------------------------------------------------------------------
    def _allowed(self, name: str) -> bool:
        if name in self._disabled:
            return False
        return self._only is None or name in self._only

    def _register_builtin(self, module_name: str) -> None:
        module = importlib.import_module(module_name)
        self.pm.register(module, name=module_name)

    def _load_entry_points(self) -> None:
        from importlib_metadata import entry_points

        installed = entry_points(group=ENTRY_POINT_GROUP)
        for ep in installed:
            if not self._allowed(ep.name):
                self.left_out[ep.name] = ("VENUEKIT_DISABLE_PLUGINS" if ep.name in self._disabled
                                          else "VENUEKIT_LOAD_PLUGINS")
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else None
            version = dist.version if dist is not None else None
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the others
                self._record_failure(ep.name, exc, dist_name)
                continue
            self._dists[ep.name] = (dist_name, version)
        names = {ep.name for ep in installed}
        for name in sorted((self._only or set()) - names):
            self._record_failure(name, LookupError(
                f"VENUEKIT_LOAD_PLUGINS names {name!r}, but no installed plugin has that "
                f"name (installed: {', '.join(sorted(names)) or 'none'})"), None)

    def left_out_hint(self) -> str:
        """Which installed plugins the environment left out, as a sentence's end ("" when
        none were)."""
        if not self.left_out:
            return ""
        by_variable: dict[str, list[str]] = {}
        for name, variable in sorted(self.left_out.items()):
            by_variable.setdefault(variable, []).append(name)
        return "; " + "; ".join(f"{variable} leaves out the installed plugin(s) "
                                f"{', '.join(names)}" for variable, names in by_variable.items())

    def install_hint(self, kind: str, name: str) -> str:
        """Which distribution to install for one of venuekit's own venues or emulators, as a
        sentence's end ("" for another name, or when its plugin is installed but left out
        or failed to load: those are said elsewhere)."""
        known = PROJECT_PLUGINS.get((kind, name))
        if known is None:
            return ""
        entry_point, distribution, folder = known
        if entry_point in self.left_out or any(f.name == entry_point for f in self.failures):
            return ""
        return (f"; the {name} {kind} comes with the plugin {distribution}, which is not "
                f"installed: `pip install {distribution}` (in a checkout of venuekit: "
                f"`pip install -e {folder}`)")

    def _record_failure(self, name: str, exc: BaseException, dist: str | None) -> None:
        text = f"{type(exc).__name__}: {exc}"
        self.failures.append(PluginFailure(name, text, dist))
        log.error("plugin failed to load", extra={"plugin": name, "error": text})

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object or module (tests use throw-away objects)."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:
            raise error(Code.PLUGIN_LOAD_FAILED, f"plugin {name or plugin!r} is blocked")
        self.pm.check_pending()
        self._registries.clear()
        return registered

    def unregister(self, plugin: object | None = None, name: str | None = None) -> None:
        self.pm.unregister(plugin, name=name)
        self._registries.clear()

    # listing ------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with its version and the hooks it implements."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            builtin = name.startswith("venuekit.")
            dist, version = self._dists.get(name, (None, None))
            if builtin:
                dist, version = "venuekit", __version__
            infos.append(PluginInfo(name, version, hooks, dist, builtin))
        return sorted(infos, key=lambda i: (not i.builtin, i.name))

    # registries ---------------------------------------------------------------------
    def _registry(self, kind: str, call: Callable[..., Any]) -> Registry[Any]:
        existing = self._registries.get(kind)
        if existing is not None:
            return existing
        registry: Registry[Any] = Registry(
            kind, hint=self.left_out_hint(),
            missing=functools.partial(self.install_hint, kind))
        # Registration order: built-ins first, so a later plugin's item replaces theirs.
        for impl in call.get_hookimpls():  # type: ignore[attr-defined]
            owner = impl.plugin_name

            def register(name: str, item: Any, /, _owner: str = owner) -> None:
                registry.register(name, item, _owner)

            try:
                impl.function(register=register)
            except Exception as exc:
                self._record_failure(owner, exc, self._dists.get(owner, (None, None))[0])
        self._registries[kind] = registry
        return registry

    def venues(self) -> Registry[Any]:
        """Venue classes by name (``venuekit_register_venues``)."""
        return self._registry("venue", self.pm.hook.venuekit_register_venues)

    def pricers(self) -> Registry[Any]:
        """Pricer factories by name (``venuekit_register_pricers``)."""
        return self._registry("pricer", self.pm.hook.venuekit_register_pricers)

    def reconcilers(self) -> Registry[Any]:
        """Reconciler factories by name (``venuekit_register_reconcilers``)."""
        return self._registry("reconciler", self.pm.hook.venuekit_register_reconcilers)

    def repeg_policies(self) -> Registry[Any]:
        """Re-peg policy factories by name (``venuekit_register_repeg_policies``)."""
        return self._registry("repeg policy", self.pm.hook.venuekit_register_repeg_policies)

    def emulators(self) -> Registry[Any]:
        """Emulator factories by venue name (``venuekit_register_emulators``)."""
        return self._registry("emulator", self.pm.hook.venuekit_register_emulators)

    # observers ----------------------------------------------------------------------
    def has_order_observers(self) -> bool:
        return bool(self._order_event_hook.get_hookimpls())

    def order_event(self, event: OrderEventRecord) -> None:
        """Tell every observer; one failing observer never stops the others."""
        for impl in self.pm.hook.venuekit_order_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception:
                log.exception("order event observer failed",
                              extra={"plugin": impl.plugin_name, "order_id": event.order_id})


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide host, loading entry points on first use."""
    global _default
    if _default is None:
        _default = PluginHost()
    return _default


def reset_default_host() -> None:
    """Forget the process-wide host (tests and long-lived shells after installs)."""
    global _default
    _default = None

