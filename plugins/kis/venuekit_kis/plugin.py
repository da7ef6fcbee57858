"""The venuekit hooks of the KIS plugin (imports stay lazy: listing plugins loads no client)."""

from __future__ import annotations

from venuekit import hookimpl
from venuekit.hookspecs import Register


@hookimpl
def venuekit_register_venues(register: Register) -> None:
    from .venue import KisVenue

    register("kis", KisVenue)


@hookimpl
def venuekit_register_emulators(register: Register) -> None:
    from .emulator import KisEmulator

    register("kis", KisEmulator)
