"""The venuekit hooks of the ccxt plugin (imports stay lazy: listing plugins loads no client)."""

from __future__ import annotations

from venuekit import hookimpl
from venuekit.hookspecs import Register


@hookimpl
def venuekit_register_venues(register: Register) -> None:
    from .venue import BinanceVenue, CcxtVenue

    register("ccxt", CcxtVenue)
    register("binance", BinanceVenue)


@hookimpl
def venuekit_register_emulators(register: Register) -> None:
    from .emulator import BinanceEmulator

    register("binance", BinanceEmulator)
