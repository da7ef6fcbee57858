"""The lifecycle's transition table itself, and the documentation that draws it."""


from __future__ import annotations

import logging
import re
from decimal import Decimal

import pytest

from venuekit import lifecycle
from venuekit.lifecycle import REPEATS, TRANSITIONS, EventKind, Result
from venuekit.model import Fill, OrderState

from .lifecycle_support import (
    DOCS,
    LOGGER,
    E,
    S,
    fill,
    new_order,
    run,
    snapshot,
)

# --- the table itself -------------------------------------------------------------------


def test_the_table_covers_exactly_the_open_states() -> None:
    assert set(TRANSITIONS) == {state for state in S if state.is_open}
    assert all(state.is_terminal for state in S if state not in TRANSITIONS)


def test_fourteen_states_seven_terminal() -> None:
    assert len(S) == 14
    assert {state for state in S if state.is_terminal} == {
        S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.REPLACED, S.ERROR, S.TIMEOUT}


def test_fills_are_not_in_the_table() -> None:
    assert all(E.FILL not in row for row in TRANSITIONS.values())


# A way to reach each state; the failed-request rows are checked from ACKNOWLEDGED.
PATHS: dict[OrderState, list[EventKind | Fill]] = {
    S.NEW: [],
    S.HELD: [E.HOLD],
    S.SUBMITTED: [E.SUBMIT],
    S.ACKNOWLEDGED: [E.SUBMIT, E.ACK],
    S.PARTIALLY_FILLED: [E.SUBMIT, E.ACK, fill("t1", "4")],
    S.PENDING_CANCEL: [E.SUBMIT, E.ACK, E.CANCEL_REQUEST],
    S.PENDING_REPLACE: [E.SUBMIT, E.ACK, E.REPLACE_REQUEST],
    S.FILLED: [E.SUBMIT, fill("t1", "10")],
    S.CANCELLED: [E.SUBMIT, E.CANCELLED],
    S.REJECTED: [E.SUBMIT, E.REJECT],
    S.EXPIRED: [E.SUBMIT, E.ACK, E.EXPIRED],
    S.REPLACED: [E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.REPLACED],
    S.ERROR: [E.ERROR],
    S.TIMEOUT: [E.SUBMIT, E.TIMEOUT],
}


@pytest.mark.parametrize("state", list(S), ids=lambda state: state.name)
def test_every_event_in_every_state_does_what_the_table_says(
        state: OrderState, caplog: pytest.LogCaptureFixture) -> None:
    for kind in E:
        if kind is E.FILL:
            continue
        order = new_order()
        run(order, *PATHS[state])
        assert order.state is state
        before = snapshot(order)
        target = TRANSITIONS.get(state, {}).get(kind)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            applied = lifecycle.apply(order, kind)
        if target is None and state.is_terminal and (REPEATS.get(kind) is state
                                                     or kind is E.ACK):
            assert applied.result is Result.DUPLICATE, kind
            assert snapshot(order) == before
            assert not caplog.records
        elif target is None:
            assert applied.result is Result.DROPPED, kind
            assert snapshot(order) == before
            assert [r.levelno for r in caplog.records] == [logging.WARNING]
        elif applied.result is Result.DUPLICATE:
            assert kind is E.ACK and state in (S.ACKNOWLEDGED, S.PARTIALLY_FILLED,
                                               S.PENDING_CANCEL, S.PENDING_REPLACE)
            assert snapshot(order) == before
        else:
            assert applied.result is Result.APPLIED, kind
            expected = S.ACKNOWLEDGED if target is S.NEW else target  # NEW: back to before
            assert order.state is expected, kind
            assert not caplog.records


def test_only_failed_requests_return_to_a_previous_state() -> None:
    # The table writes "back to the state before the request" as NEW, which no real
    # event ever leads to; this keeps that convention honest.
    back = {(state, kind) for state, row in TRANSITIONS.items()
            for kind, target in row.items() if target is S.NEW}
    assert back == {(S.PENDING_CANCEL, E.CANCEL_REJECTED), (S.PENDING_REPLACE, E.REPLACE_REJECTED)}


# --- the documentation ------------------------------------------------------------------


def doc_section(heading: str) -> str:
    text = (DOCS / "lifecycle.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def documented_transitions() -> set[tuple[str, str, str]]:
    rows = set()
    for line in doc_section("Transitions").splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[A-Z_]+", cells[0]):
            rows.add((cells[0], cells[1], cells[2]))
    return rows


def test_every_transition_is_in_the_documented_table() -> None:
    documented = documented_transitions()
    missing = []
    for state, row in TRANSITIONS.items():
        for kind, target in row.items():
            shown = "previous state" if target is S.NEW else target.name
            if (state.name, kind.value, shown) not in documented:
                missing.append(f"| {state.name} | {kind.value} | {shown} |")
    assert not missing, "docs/lifecycle.md lacks these rows:\n" + "\n".join(missing)


def test_the_documented_table_invents_no_transition() -> None:
    allowed = {(state.name, kind.value,
                "previous state" if target is S.NEW else target.name)
               for state, row in TRANSITIONS.items() for kind, target in row.items()}
    extra = {row for row in documented_transitions() if row[1] != "fill"} - allowed
    assert not extra, f"docs/lifecycle.md shows transitions the table does not have: {extra}"


def test_every_state_is_documented() -> None:
    text = (DOCS / "lifecycle.md").read_text(encoding="utf-8")
    missing = [state.name for state in S if f"`{state.name}`" not in text]
    assert not missing


def test_the_documented_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", doc_section("History"), flags=re.DOTALL)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/lifecycle.md", "exec"), {})


def test_a_late_fill_on_a_replaced_order_is_counted() -> None:
    """The old order of a replace can fill while the replace is in flight."""
    order = new_order()
    run(order, E.SUBMIT, E.ACK, E.REPLACE_REQUEST, E.REPLACED)
    applied = lifecycle.apply_fill(order, fill("t1", "1"))
    assert applied.result is Result.APPLIED
    assert order.state is S.REPLACED
    assert order.filled_quantity == Decimal(1)


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        ([E.SUBMIT, fill("t1", "10")], E.ACK),
        ([E.SUBMIT, E.REJECT], E.ACK),
        ([E.SUBMIT, E.ACK, E.CANCELLED], E.CANCELLED),
        ([E.SUBMIT, E.ACK, E.EXPIRED], E.EXPIRED),
    ],
    ids=["ack-on-filled", "ack-on-rejected", "cancelled-twice", "expired-twice"],
)
def test_a_repeated_ending_or_late_ack_is_a_quiet_duplicate(
        setup: list[EventKind | Fill], kind: EventKind,
        caplog: pytest.LogCaptureFixture) -> None:
    """The stream and a REST poll often report the same ending; that is not an error."""
    order = new_order()
    run(order, *setup)
    before = snapshot(order)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        applied = lifecycle.apply(order, kind)
    assert applied.result is Result.DUPLICATE
    assert snapshot(order) == before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_venue_may_reject_an_order_after_acknowledging_it() -> None:
    order = new_order()
    run(order, E.SUBMIT, E.ACK)
    applied = lifecycle.apply(order, E.REJECT, reason="risk check after acceptance")
    assert applied.result is Result.APPLIED
    assert order.state is S.REJECTED and order.reason == "risk check after acceptance"
