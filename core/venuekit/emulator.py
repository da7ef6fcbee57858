"""The contract of a venue emulator: what ``venuekit emulate NAME`` serves.

An emulator speaks one real venue's wire protocol on a local port, so that the venue's own
client library runs against it unmodified (offline paper trading, tests). Plugins register
emulator factories through ``venuekit_register_emulators``; the factory is usually the
emulator class itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["Emulator", "EmulatorFactory"]


@runtime_checkable
class Emulator(Protocol):
    """A running (or ready to run) emulator."""

    async def start(self) -> None:
        """Bind the port and start serving; returns once requests are accepted."""

    async def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""

    def endpoints(self) -> Mapping[str, str]:
        """What is served where, by name (``{"trading": "http://127.0.0.1:8080", ...}``);
        meaningful once started (the port is known then)."""

    def client_settings(self) -> Mapping[str, str]:
        """What a client needs to connect, as environment variables (name to value)."""


class EmulatorFactory(Protocol):
    """What ``venuekit_register_emulators`` registers (usually the emulator class)."""

    def from_config(self, config: Mapping[str, Any], *, host: str, port: int,
                    allow_remote: bool) -> Emulator:
        """Build an emulator from ``-o key=value`` options or a config table; raise
        ``ConfigurationError`` naming the key for a bad option. ``port`` 0 picks a free
        port; a host that is not a loopback address is refused unless ``allow_remote``."""
