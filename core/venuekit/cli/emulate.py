"""``venuekit emulate NAME``: serve a venue's wire protocol on this machine.

The emulator comes from the plugin that registers it (``venuekit_register_emulators``). The
command prints where it listens and what a client needs, then serves until Ctrl-C or
SIGTERM. Exit codes: 0 after a clean stop, 2 for a bad option or an unknown emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from ..emulator import Emulator
from ..errors import VenueKitError
from ..plugins import default_host
from .config import parse_option
from .output import dumps
from .session import fail


def _serve(name: str, emulator: Emulator, as_json: bool) -> None:
    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await emulator.start()
        try:
            # Announced only once stopping cleanly is possible: a client may signal at once.
            _announce(name, emulator, as_json)
            await stop.wait()
        finally:
            await emulator.stop()

    asyncio.run(serve())


def _announce(name: str, emulator: Emulator, as_json: bool) -> None:
    endpoints = dict(emulator.endpoints())
    settings = dict(emulator.client_settings())
    if as_json:
        click.echo(dumps({"emulator": name, "endpoints": endpoints,
                          "client_settings": settings}).replace("\n", ""))
        return
    width = max(map(len, endpoints), default=0)
    lines = [f"{name} emulator running (Ctrl-C or SIGTERM stops it)", ""]
    lines += [f"  {key.ljust(width)}  {url}" for key, url in endpoints.items()]
    lines += ["", "Point a client at it:", ""]
    lines += [f"  export {key}={value}" for key, value in settings.items()]
    lines += ["", f"then, for example: venuekit quote SYMBOL --venue {name}"]
    click.echo("\n".join(lines))


@click.command("emulate")
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; must be a loopback address unless --allow-remote.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free port (printed at start).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An emulator setting, repeatable (e.g. -o seed=7 -o cash=50000).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host. The emulator trusts anyone who can reach "
                   "it: only on networks you control.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the endpoints and client settings as one JSON line.")
def emulate_command(name: str, host: str, port: int, options: tuple[str, ...],
                    allow_remote: bool, as_json: bool) -> None:
    """Serve NAME's wire protocol on this machine, backed by the simulated venue.

    The venue's own client library (alpaca-py for `alpaca`, ccxt and ccxt.pro for
    `binance`, a client written from KIS's documents for `kis`) runs against it
    unmodified: offline paper trading with the market, fills and faults of the mock
    venue. Settings
    (-o) are the emulator's; see the venue's documentation page. Runs until Ctrl-C or
    SIGTERM.

    \b
    Examples:
      venuekit emulate alpaca
      venuekit emulate alpaca --port 8080 -o seed=7 -o cash=50000
      venuekit emulate alpaca -o faults.drop_response=0.1 --json
      venuekit emulate binance --port 8090 -o balances.BNB=5 -o commission_asset=BNB
      venuekit emulate kis --port 8095 -o rate_limit=20 -o record_fields=23
    """
    try:
        plugins = default_host()
        try:
            factory = plugins.emulators().get(name)
        except VenueKitError as exc:
            if plugins.install_hint("emulator", name):  # one of venuekit's, not installed
                fail(exc, action=f"Install the plugin named above, then run `venuekit "
                                 f"emulate {name}` again.")
            raise
        config = dict(parse_option(text) for text in options)
        emulator: Emulator = factory.from_config(config, host=host, port=port,
                                                 allow_remote=allow_remote)
        _serve(name, emulator, as_json)
    except VenueKitError as exc:
        fail(exc)
