"""The ``venuekit`` command.

Commands live in small modules of this package, grouped by what they operate on; this
module only builds the top-level group. Output goes through :mod:`venuekit.cli.output`
so that every command offers a rich table for people and ``--json`` for machines.

Exit codes: 0 success, 1 the work ran but some of it did not complete, 2 invalid input
or configuration, 130 / 143 interrupted by SIGINT / SIGTERM (see :mod:`.session`).
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import click

from ..version import __version__
from .cancel import cancel_command
from .emulate import emulate_command
from .logs import LOG_JSON_ENV
from .logs import configure as configure_logging
from .new_plugin import new_plugin_command
from .orders import orders_command
from .output import emit_json
from .place import place_command
from .plugins import plugins_command, venues_command
from .portfolio import account_command, fills_command, positions_command
from .rebalance import rebalance_command
from .recover import recover_command
from .runs import runs_command
from .session import exit_code_for_signal, usage_error_json
from .show_config import config_command
from .trade import order_command, quote_command


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Keep the order in --help meaningful rather than alphabetical.
        return list(self.commands)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Remembered before a subcommand parses its options, which may fail.
        ctx.meta.setdefault("venuekit.json", "--json" in args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # Under --json a refused command line is JSON on stdout too; click then prints
            # its usage text to stderr and exits 2 as for any usage error.
            if ctx.meta.get("venuekit.json"):
                emit_json(usage_error_json(exc))
            raise
        except KeyboardInterrupt:
            # An interrupt outside the commands' own handling (while Python imports or
            # click parses): exit as the shell expects, without "Aborted!" or a traceback.
            click.echo("interrupted", err=True)
            sys.exit(exit_code_for_signal(signal.SIGINT))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                           "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="venuekit",
                      message="%(prog)s %(version)s")
@click.option("-v", "--verbose", count=True,
              help="Log more: -v for info, -vv for debug (logs go to stderr).")
@click.option("--log-json", is_flag=True, envvar=LOG_JSON_ENV, show_envvar=True,
              help="Write logs to stderr as JSON lines (level, logger, message, time and "
                   "each record's fields: order_id, venue, code, cause, ...).")
def main(verbose: int, log_json: bool) -> None:
    """Execute orders the same way on any trading venue.

    Venues come from plugins (the simulated `mock` venue is one); `venuekit venues`
    lists what is installed. Every command takes --help.
    """
    configure_logging(logging.WARNING - 10 * min(verbose, 2), as_json=log_json)


main.add_command(plugins_command)
main.add_command(venues_command)
main.add_command(quote_command)
main.add_command(order_command)
main.add_command(place_command)
main.add_command(rebalance_command)
main.add_command(cancel_command)
main.add_command(account_command)
main.add_command(positions_command)
main.add_command(orders_command)
main.add_command(fills_command)
main.add_command(runs_command)
main.add_command(recover_command)
main.add_command(emulate_command)
main.add_command(config_command)
main.add_command(new_plugin_command)
