"""The pre-trade checks of the commands that send orders (``order``, ``place``,
``rebalance``): the rules they run, the flags that choose them, and how a refusal reads.

The rules are :class:`~venuekit.validation.ValidationRules` from the config file's
``[validation]`` table, ``[validation.ENVIRONMENT]`` over it (``--environment`` or
``$VENUEKIT_ENV``), else the defaults. ``order`` and ``place`` skip them only when given
``--skip-checks``. A refused order exits 2 with nothing journaled or sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from ..errors import VenueKitError
from ..settings import Settings
from ..validation import ValidationRules
from .output import error_console
from .session import EXIT_INVALID, fail

__all__ = ["SKIP_FLAG", "check_options", "environment_option", "fail_refused", "refusal",
           "rules_for", "warn_unchecked"]

F = TypeVar("F", bound=Callable[..., Any])

SKIP_FLAG = "--skip-checks"


def environment_option(func: F) -> F:
    """``--environment`` (``$VENUEKIT_ENV``): which ``[validation.ENV]`` table applies."""
    return click.option("--environment", envvar="VENUEKIT_ENV", default=None,
                        help="Validation rules of [validation.ENVIRONMENT] in the config "
                             "file (default: $VENUEKIT_ENV, else [validation]).")(func)


def check_options(func: F) -> F:
    """``--environment`` and ``--skip-checks``: what a command that sends one order takes."""
    func = click.option(SKIP_FLAG, "skip_checks", is_flag=True,
                        help="Send without the pre-trade checks (buying power, concentration, "
                             "notional and spread limits); the instrument's lot, tick and "
                             "minimums still apply.")(func)
    return environment_option(func)


def rules_for(settings: Settings, environment: str | None, *, skip: bool = False
              ) -> ValidationRules | None:
    """The rules a command checks its orders with (None when ``skip``)."""
    if skip:
        return None
    return ValidationRules.from_config(settings.section("validation"), environment)


def refusal(exc: VenueKitError) -> bool:
    """True when ``exc`` is the pre-trade checks refusing an order (nothing was sent)."""
    return "violations" in exc.details


def fail_refused(exc: VenueKitError, rules: ValidationRules | None) -> NoReturn:
    """Exit 2 for a refused order: the rule's code, what was checked, what to do."""
    if not refusal(exc):
        fail(exc)
    checked = (rules or ValidationRules()).describe()
    action = (f"{exc.action} To send it without the pre-trade checks, pass "
              f"{SKIP_FLAG}.")
    fail(exc, EXIT_INVALID, action=action,
         lines=[f"checked: {'; '.join(checked)}", "nothing was journaled or sent"],
         extra={"violations": exc.details["violations"], "checked": checked,
                "skip_flag": SKIP_FLAG})


def warn_unchecked() -> None:
    error_console().print(f"pre-trade checks skipped ({SKIP_FLAG}): only the instrument's "
                          "rules apply")
