"""The hooks a venuekit plugin can implement.

Plugins are modules or objects whose functions are decorated with :data:`venuekit.hookimpl`
and are found through the ``venuekit`` entry point group. Every hook here is synchronous
(pluggy cannot await): registration hooks hand over factories whose objects do their I/O
in async methods later.

Registration hooks are called once per :class:`venuekit.plugins.PluginHost` when its
registry is first needed, and again after a plugin is registered or unregistered. None of
them is ``firstresult``: every implementation is called and each may register any number
of items through the ``register`` callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from .lifecycle import OrderEventRecord

__all__ = ["Register", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("venuekit")

hookimpl = pluggy.HookimplMarker("venuekit")
"""Decorator marking a function as a venuekit hook implementation (``venuekit.hookimpl``)."""


class Register(Protocol):
    """The callback handed to a registration hook: ``register(name, item)``."""

    def __call__(self, name: str, item: Any, /) -> None: ...


@hookspec
def venuekit_register_venues(register: Register) -> None:
    """Register venue classes: ``register("mock", MockVenue)``.

    The item is a :class:`venuekit.venue.Venue` subclass with ``name`` and ``capabilities``
    class attributes and a ``from_config(mapping, *, state_dir=None)`` class method.
    Called when the venue registry is first built; every implementation is called (not
    firstresult).
    """


@hookspec
def venuekit_register_pricers(register: Register) -> None:
    """Register pricers: ``register("mid", MidPricer)``.

    The item is a factory (usually a class) that builds a pricer from keyword options; a
    pricer turns a quote, a side and an instrument into a limit price. Called when the
    pricer registry is first built; every implementation is called.
    """


@hookspec
def venuekit_register_reconcilers(register: Register) -> None:
    """Register settlement reconcilers: ``register("stream-first", StreamFirstReconciler)``.

    The item is a factory building a reconciler for a venue and its tracked orders. Called
    when the reconciler registry is first built; every implementation is called.
    """


@hookspec
def venuekit_register_repeg_policies(register: Register) -> None:
    """Register re-peg policies: ``register("conservative", ConservativeRepeg)``.

    The item is a factory building a policy that decides at each interval whether to keep,
    reprice, cancel or go to market. Called when the policy registry is first built; every
    implementation is called.
    """


@hookspec
def venuekit_register_emulators(register: Register) -> None:
    """Register venue emulators: ``register("alpaca", AlpacaEmulator)``.

    The item is a :class:`venuekit.emulator.EmulatorFactory`: its
    ``from_config(mapping, host=, port=, allow_remote=)`` builds an
    :class:`venuekit.emulator.Emulator` that serves the venue's wire protocol locally.
    Called when the emulator registry is first built (``venuekit emulate``); every
    implementation is called (not firstresult).
    """


@hookspec
def venuekit_order_event(event: OrderEventRecord) -> None:
    """Observe one order lifecycle event after it was applied and journaled.

    Called for every applied event of every order, in order, on the event loop's thread:
    keep it fast and never raise (an exception is logged and the other observers still
    run). Every implementation is called; return values are ignored.
    """
