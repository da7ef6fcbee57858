"""The error taxonomy: codes, categories, outcomes, the exception classes and their docs."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import re
from pathlib import Path

import pytest

from venuekit import errors
from venuekit.errors import (
    CODES,
    AuthorizationError,
    Category,
    Code,
    ConfigurationError,
    ConnectivityError,
    ErrorCode,
    JournalError,
    LiquidityError,
    MarketConditionsError,
    OrderNotFound,
    Outcome,
    RateLimited,
    RiskError,
    SystemError_,
    ValidationError,
    VenueKitError,
    error,
)

DOCS = Path(__file__).parents[2] / "docs"

CLASS_OF_CATEGORY: dict[Category, type[VenueKitError]] = {
    Category.VALIDATION: ValidationError,
    Category.LIQUIDITY: LiquidityError,
    Category.RISK: RiskError,
    Category.MARKET: MarketConditionsError,
    Category.SYSTEM: SystemError_,
    Category.CONNECTIVITY: ConnectivityError,
    Category.AUTHORIZATION: AuthorizationError,
    Category.CONFIGURATION: ConfigurationError,
}

ALL_CODES = list(CODES.values())


def code_ids(code: ErrorCode) -> str:
    return code.name


def exception_classes() -> list[type[VenueKitError]]:
    """Every exception class the errors module defines."""
    return [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, VenueKitError) and cls.__module__ == errors.__name__]


# --- the codes --------------------------------------------------------------------------


def test_there_are_at_least_25_codes() -> None:
    assert len(CODES) >= 25


def test_eight_categories_all_in_use() -> None:
    assert len(Category) == 8
    assert {code.category for code in ALL_CODES} == set(Category)


@pytest.mark.parametrize("code", ALL_CODES, ids=code_ids)
def test_every_code_is_complete(code: ErrorCode) -> None:
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code.name)
    assert CODES[code.name] is code
    assert getattr(Code, code.name) is code
    assert str(code) == code.name
    assert isinstance(code.category, Category)
    assert isinstance(code.outcome, Outcome)
    assert isinstance(code.retryable, bool)
    assert code.summary.strip()
    assert code.action.strip()
    assert code.summary != code.action


def test_code_names_are_unique() -> None:
    names = [value.name for value in vars(Code).values() if isinstance(value, ErrorCode)]
    assert len(names) == len(set(names)) == len(CODES)


@pytest.mark.parametrize("name", ["TIMEOUT", "CONNECTION_ERROR", "VENUE_ERROR", "RATE_LIMITED"])
def test_transport_failures_are_unknown_and_retryable(name: str) -> None:
    # A timeout, a reset, a 5xx or a 429 after the request may have been sent: the order
    # may exist, so it stays SUBMITTED until a lookup says otherwise.
    code = CODES[name]
    assert code.outcome is Outcome.UNKNOWN
    assert code.retryable is True


@pytest.mark.parametrize(
    "name", ["INSUFFICIENT_FUNDS", "INVALID_PRICE", "UNKNOWN_SYMBOL", "AUTHENTICATION_FAILED"],
)
def test_venue_refusals_are_rejected_and_not_retryable(name: str) -> None:
    code = CODES[name]
    assert code.outcome is Outcome.REJECTED
    assert code.retryable is False


def test_a_duplicate_client_order_id_means_the_order_may_exist() -> None:
    code = Code.DUPLICATE_CLIENT_ORDER_ID
    assert code.outcome is Outcome.UNKNOWN
    assert code.retryable is False  # resending would be the duplicate order itself
    assert "look" in code.action.lower()


def test_a_connectivity_failure_is_never_a_rejection() -> None:
    connectivity = [code for code in ALL_CODES if code.category is Category.CONNECTIVITY]
    assert connectivity
    assert all(code.outcome is not Outcome.REJECTED for code in connectivity)


def test_a_rejection_is_never_retryable() -> None:
    # Retrying the same call after a definitive "no" gets the same "no" (or, worse, a yes
    # to a request the user has since changed their mind about).
    retryable_rejections = [code.name for code in ALL_CODES
                            if code.outcome is Outcome.REJECTED and code.retryable]
    assert retryable_rejections == []


def test_order_not_found_is_not_a_rejection() -> None:
    # Absence has to be proven (grace window, repeated answers); it never rejects by itself.
    assert Code.ORDER_NOT_FOUND.outcome is Outcome.NOT_APPLICABLE


# --- error(): the class follows the code ------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES, ids=code_ids)
def test_error_builds_the_class_of_the_codes_category(code: ErrorCode) -> None:
    err = error(code)
    assert isinstance(err, CLASS_OF_CATEGORY[code.category])
    assert isinstance(err, VenueKitError)
    assert type(err).category is code.category
    assert err.code is code
    assert err.message == code.summary
    assert err.retryable is code.retryable
    assert err.outcome is code.outcome
    assert err.action == code.action


def test_rate_limited_carries_retry_after() -> None:
    err = error(Code.RATE_LIMITED, "slow down", retry_after=1.5, venue="binance")
    assert type(err) is RateLimited
    assert isinstance(err, ConnectivityError)
    assert err.retry_after == 1.5
    assert err.venue == "binance"
    assert error(Code.RATE_LIMITED).retry_after is None  # type: ignore[attr-defined]


def test_an_ip_ban_is_a_rate_limit_too() -> None:
    err = error(Code.IP_BANNED, retry_after=120)
    assert type(err) is RateLimited
    assert err.retry_after == 120


def test_order_not_found_has_its_own_class() -> None:
    err = error(Code.ORDER_NOT_FOUND, "no such order", venue="alpaca")
    assert type(err) is OrderNotFound
    assert isinstance(err, SystemError_)


@pytest.mark.parametrize("code", [c for c in ALL_CODES if c.name.startswith("JOURNAL_")],
                         ids=code_ids)
def test_journal_codes_raise_journal_error(code: ErrorCode) -> None:
    err = error(code)
    assert type(err) is JournalError
    assert isinstance(err, SystemError_)


def test_the_class_hierarchy_lets_callers_catch_by_concern() -> None:
    with pytest.raises(ConnectivityError):
        raise error(Code.RATE_LIMITED)
    with pytest.raises(SystemError_):
        raise error(Code.JOURNAL_LOCKED)
    with pytest.raises(VenueKitError):
        raise error(Code.INSUFFICIENT_FUNDS)
    assert issubclass(VenueKitError, Exception)
    # The trailing underscore keeps the built-in SystemError distinct.
    assert not issubclass(SystemError_, SystemError)


# --- what users see ---------------------------------------------------------------------


def test_str_carries_code_message_and_action() -> None:
    err = error(Code.INSUFFICIENT_FUNDS, "buying power 120.00, order needs 250.00")
    text = str(err)
    assert "INSUFFICIENT_FUNDS" in text
    assert "buying power 120.00, order needs 250.00" in text
    assert Code.INSUFFICIENT_FUNDS.action in text
    assert text == ("INSUFFICIENT_FUNDS: buying power 120.00, order needs 250.00 "
                    f"(what to do: {Code.INSUFFICIENT_FUNDS.action})")


def test_str_names_the_venue_when_there_is_one() -> None:
    err = error(Code.TIMEOUT, "POST /v2/orders timed out after 10s", venue="alpaca")
    assert str(err).startswith("TIMEOUT [alpaca]: POST /v2/orders timed out after 10s")


def test_without_a_message_the_summary_is_used() -> None:
    err = error(Code.MARKET_CLOSED)
    assert str(err) == f"MARKET_CLOSED: {Code.MARKET_CLOSED.summary} (what to do: " \
                       f"{Code.MARKET_CLOSED.action})"


def test_repr_names_the_class_and_code() -> None:
    err = error(Code.SYMBOL_HALTED, "halted")
    assert repr(err) == "MarketConditionsError('SYMBOL_HALTED', 'halted')"


def test_to_dict_is_json_ready() -> None:
    err = error(Code.VENUE_ERROR, "503 from the venue", venue="kis")
    as_dict = err.to_dict()
    assert as_dict == {
        "code": "VENUE_ERROR",
        "category": "system",
        "outcome": "unknown",
        "retryable": True,
        "message": "503 from the venue",
        "action": Code.VENUE_ERROR.action,
        "venue": "kis",
    }
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_details_are_copied() -> None:
    details = {"status": 503}
    err = error(Code.VENUE_ERROR, details=details)
    details["status"] = 200
    assert err.details == {"status": 503}


@pytest.mark.parametrize("code", ALL_CODES, ids=code_ids)
def test_errors_survive_pickling_and_copying(code: ErrorCode) -> None:
    # Errors cross process boundaries (process pools, multiprocessing queues).
    err = error(code, "context", venue="mock", details={"attempt": 2}, retry_after=3.0)
    for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err), copy.deepcopy(err)):
        assert type(clone) is type(err)
        assert clone.code is code
        assert clone.message == "context"
        assert clone.venue == "mock"
        assert clone.details == {"attempt": 2}
        assert str(clone) == str(err)
        if isinstance(err, RateLimited):
            assert clone.retry_after == 3.0  # type: ignore[attr-defined]


# --- the docstring tree -----------------------------------------------------------------


def drawn_tree() -> dict[str, str | None]:
    """Each class name in the module docstring's tree, mapped to its parent in the drawing."""
    doc = errors.__doc__ or ""
    block = doc.split("Exception tree::", 1)[1]
    lines = [line for line in block.split("\n\n", 2)[1].splitlines() if line.strip()]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name)
    for line in lines:
        match = re.search(r"[A-Za-z_]\w*", line)
        assert match, line
        column, name = match.start(), match.group()
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def test_the_docstring_tree_names_every_exception_class() -> None:
    drawn = drawn_tree()
    defined = {cls.__name__ for cls in exception_classes()}
    assert len(defined) >= 12
    assert set(drawn) == defined


def test_the_docstring_tree_draws_each_class_under_its_base() -> None:
    drawn = drawn_tree()
    for cls in exception_classes():
        base = cls.__bases__[0]
        expected = None if cls is VenueKitError else base.__name__
        assert drawn[cls.__name__] == expected, cls


def test_every_exception_class_is_exported() -> None:
    assert {cls.__name__ for cls in exception_classes()} <= set(errors.__all__)


# --- the documentation page -------------------------------------------------------------


def documented_codes() -> dict[str, list[str]]:
    """The rows of the code table in docs/errors.md, by code name."""
    rows: dict[str, list[str]] = {}
    for line in (DOCS / "errors.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", line)
        if match:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = cells
    return rows


def test_every_code_is_documented() -> None:
    missing = sorted(set(CODES) - set(documented_codes()))
    assert not missing, f"docs/errors.md lacks a row for: {', '.join(missing)}"


def test_the_docs_list_no_code_that_does_not_exist() -> None:
    assert sorted(set(documented_codes()) - set(CODES)) == []


@pytest.mark.parametrize("code", ALL_CODES, ids=code_ids)
def test_each_documented_row_matches_the_code(code: ErrorCode) -> None:
    row = documented_codes().get(code.name)
    assert row is not None, f"docs/errors.md lacks {code.name}"
    _, category, retryable, outcome, action = row
    assert category == code.category.value
    assert retryable == ("yes" if code.retryable else "no")
    assert outcome == code.outcome.value
    assert action == code.action


def test_the_docs_explain_every_category_and_outcome() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    for category in Category:
        assert f"`{category.value}`" in text, category
        assert f"`{CLASS_OF_CATEGORY[category].__name__}`" in text, category
    for outcome in Outcome:
        assert f"`{outcome.value}`" in text, outcome


def test_log_fields_say_the_code_the_cause_and_the_exception_behind_it() -> None:
    try:
        try:
            open("/nonexistent/journal.sqlite3")  # noqa: SIM115 (raises at once)
        except FileNotFoundError as inner:
            raise error(Code.JOURNAL_ERROR, "the journal could not be opened") from inner
    except VenueKitError as exc:
        fields = exc.log_fields()
    assert fields["code"] == "JOURNAL_ERROR"
    assert fields["cause"] == "the journal could not be opened"
    assert fields["underlying"].startswith("FileNotFoundError: ")
    assert "underlying" not in error(Code.TIMEOUT, "no answer").log_fields()
