"""``venuekit_register_emulators`` and ``venuekit emulate``, with a throw-away emulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from venuekit import hookimpl
from venuekit.emulator import Emulator
from venuekit.errors import ConfigurationError
from venuekit.plugins import PluginHost

from ..support.processes import first_line, reap, start_emulate


class EchoEmulator:
    """A minimal emulator: a TCP server that answers every line with the same line."""

    def __init__(self, host: str, port: int, greeting: str) -> None:
        self.host, self.port, self.greeting = host, port, greeting
        self.server: asyncio.Server | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, host: str, port: int,
                    allow_remote: bool) -> EchoEmulator:
        unknown = set(config) - {"greeting"}
        if unknown:
            raise ValueError(f"unknown {unknown}")
        return cls(host, port, str(config.get("greeting", "hello")))

    async def start(self) -> None:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(echo, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def endpoints(self) -> dict[str, str]:
        return {"echo": f"tcp://{self.host}:{self.port}"}

    def client_settings(self) -> dict[str, str]:
        return {"ECHO_GREETING": self.greeting}


class EmulatorPlugin:
    @hookimpl
    def venuekit_register_emulators(self, register: Any) -> None:
        register("echo", EchoEmulator)


def test_registered_emulator_is_found_built_and_served() -> None:
    host = PluginHost(load_entry_points=False)
    plugin = EmulatorPlugin()
    host.register(plugin, name="echo-plugin")
    try:
        assert host.emulators().names() == ["echo"]
        assert host.emulators().owner("echo") == "echo-plugin"
        factory = host.emulators().get("echo")
        emulator = factory.from_config({"greeting": "hi"}, host="127.0.0.1", port=0,
                                       allow_remote=False)
        assert isinstance(emulator, Emulator)

        async def roundtrip() -> bytes:
            await emulator.start()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
                writer.write(b"ping\n")
                answer = await reader.readline()
                writer.close()
                return answer
            finally:
                await emulator.stop()

        assert asyncio.run(asyncio.wait_for(roundtrip(), 10)) == b"ping\n"
    finally:
        host.unregister(plugin)
    assert "echo" not in host.emulators()


def test_unknown_emulator_names_the_known_ones() -> None:
    host = PluginHost(load_entry_points=False)
    host.register(EmulatorPlugin(), name="echo-plugin")
    with pytest.raises(ConfigurationError, match=r"no emulator named 'nope'.*echo"):
        host.emulators().get("nope")


_PLUGIN_MODULE = '''
    import asyncio
    from venuekit import hookimpl

    class Quiet:
        stopped_marker = None

        @classmethod
        def from_config(cls, config, *, host, port, allow_remote):
            self = cls()
            self.marker = config["marker"]
            return self

        async def start(self):
            pass

        async def stop(self):
            open(self.marker, "w").write("stopped")

        def endpoints(self):
            return {"nothing": "none://"}

        def client_settings(self):
            return {"QUIET": "1"}

    @hookimpl
    def venuekit_register_emulators(register):
        register("quiet", Quiet)
'''


def test_emulate_command_runs_until_sigterm_and_stops_the_emulator(tmp_path: Path) -> None:
    (tmp_path / "quiet_plugin.py").write_text(textwrap.dedent(_PLUGIN_MODULE))
    info = tmp_path / "quiet-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quiet\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[venuekit]\nquiet = quiet_plugin\n")
    marker = tmp_path / "stopped.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    process = start_emulate("quiet", "--json", "-o", f"marker={marker}", env=env)
    try:
        line = first_line(process, 30.0)
        assert json.loads(line) == {"emulator": "quiet", "endpoints": {"nothing": "none://"},
                                    "client_settings": {"QUIET": "1"}}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert marker.read_text() == "stopped"
    finally:
        reap(process)
