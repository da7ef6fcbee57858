"""The venuekit hooks of the Alpaca plugin (imports stay lazy: listing plugins loads no client)."""

from __future__ import annotations

from venuekit import hookimpl
from venuekit.hookspecs import Register


@hookimpl
def venuekit_register_venues(register: Register) -> None:
    from .venue import AlpacaVenue

    register("alpaca", AlpacaVenue)


@hookimpl
def venuekit_register_emulators(register: Register) -> None:
    from .emulator import AlpacaEmulator

    register("alpaca", AlpacaEmulator)
