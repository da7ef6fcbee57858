"""Registers the simulated venue with venuekit (entry point ``mock`` in group ``venuekit``)."""

from __future__ import annotations

from venuekit import hookimpl
from venuekit.hookspecs import Register


@hookimpl
def venuekit_register_venues(register: Register) -> None:
    from .venue import MockVenue

    register("mock", MockVenue)
