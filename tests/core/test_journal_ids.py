"""Client order ids fit every venue's rules and never repeat; fingerprints find orders."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from venuekit.journal import ClientIdRules, Fingerprint
from venuekit.journal.ids import MIN_CAPACITY, TAG_LENGTH, is_journal_tag, new_journal_tag
from venuekit.model import Order, OrderRequest, OrderSnapshot, OrderState, OrderType, Side
from venuekit.reconcile import find_by_fingerprint
from venuekit.venue import Capabilities

TAG = "k3x9p2qa"
BINANCE = ClientIdRules(36, string.ascii_letters + string.digits + "-_")


def test_default_rules_are_the_capabilities_defaults() -> None:
    caps = Capabilities(client_order_ids=True, order_stream=False, replace=False,
                        market_orders=True, fractional=False, short_selling=False)
    assert ClientIdRules.from_capabilities(caps) == ClientIdRules()
    alpaca = Capabilities(client_order_ids=True, order_stream=True, replace=True,
                          market_orders=True, fractional=True, short_selling=True,
                          client_order_id_max_length=128)
    assert ClientIdRules.from_capabilities(alpaca).max_length == 128


def test_ids_show_the_journal_tag_where_the_venue_allows_it() -> None:
    assert ClientIdRules().client_order_id(TAG, 1) == "k3x9p2qa-1"
    assert BINANCE.client_order_id(TAG, 36**3) == "k3x9p2qa-1000"
    upper = ClientIdRules(20, string.ascii_uppercase + string.digits)
    assert upper.client_order_id(TAG, 35) == "K3X9P2QAZ"


def test_journal_tags_are_random_and_well_formed() -> None:
    tags = {new_journal_tag() for _ in range(50)}
    assert len(tags) == 50
    assert all(is_journal_tag(tag) and len(tag) == TAG_LENGTH for tag in tags)
    assert not is_journal_tag("K3X9P2QA") and not is_journal_tag("short")


@pytest.mark.parametrize(("max_length", "alphabet", "why"), [
    (8, "0123456789abcdefghijklmnopqrstuvwxyz-", "leave room for"),
    (64, "x", "fewer than two"),
    (64, " \t\n", "fewer than two"),
    (0, "0123456789", "positive"),
])
def test_rules_that_cannot_number_enough_orders_are_refused(max_length: int, alphabet: str,
                                                             why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ClientIdRules(max_length, alphabet)


def test_a_sequence_outside_the_rules_is_refused() -> None:
    rules = ClientIdRules()
    with pytest.raises(ValueError):
        rules.client_order_id(TAG, 0)
    with pytest.raises(ValueError):
        rules.client_order_id(TAG, rules.capacity + 1)
    with pytest.raises(ValueError):
        rules.client_order_id("not a tag", 1)


_CHARS = string.ascii_letters + string.digits + "-_.:/+=#"


@st.composite
def id_rules(draw: st.DrawFn) -> ClientIdRules:
    alphabet = "".join(draw(st.sets(st.sampled_from(_CHARS), min_size=2)))
    max_length = draw(st.integers(min_value=1, max_value=128))
    try:
        return ClientIdRules(max_length, alphabet)
    except ValueError:
        return ClientIdRules(max(max_length, 96), alphabet)


@settings(derandomize=True, database=None, max_examples=200)
@given(rules=id_rules(), data=st.data())
def test_ids_fit_the_rules_and_never_repeat(rules: ClientIdRules, data: st.DataObject) -> None:
    assert rules.capacity >= MIN_CAPACITY
    sequences = data.draw(st.lists(st.integers(1, rules.capacity), min_size=1, max_size=20,
                                   unique=True))
    sequences += [1, rules.capacity]
    ids = {seq: rules.client_order_id(TAG, seq) for seq in sequences}
    allowed = re.compile(f"[{re.escape(rules.alphabet)}]+")
    for seq, order_id in ids.items():
        assert 1 <= len(order_id) <= rules.max_length
        assert allowed.fullmatch(order_id), (rules, order_id)
        assert rules.client_order_id(TAG, seq) == order_id  # deterministic
    assert len(set(ids.values())) == len(ids)


@settings(derandomize=True, database=None, max_examples=50)
@given(rules=id_rules(), seq=st.integers(1, 10**9))
def test_two_journals_never_share_an_id(rules: ClientIdRules, seq: int) -> None:
    assert rules.client_order_id(TAG, seq) != rules.client_order_id("k3x9p2qb", seq)


# fingerprints -------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRINT = Fingerprint("005930", Side.BUY, Decimal("10"), Decimal("71000"), T0)


def snapshot(**changes: object) -> OrderSnapshot:
    fields: dict[str, object] = {
        "venue_order_id": "0000117", "symbol": "005930", "side": Side.BUY,
        "order_type": OrderType.LIMIT, "state": OrderState.ACKNOWLEDGED,
        "quantity": Decimal("10.0"), "limit_price": Decimal("71000"),
        "created_at": T0 + timedelta(seconds=3)}
    fields.update(changes)
    return OrderSnapshot.model_validate(fields)


def test_a_fingerprint_matches_the_same_order_within_the_window() -> None:
    window = timedelta(seconds=5)
    assert PRINT.matches(snapshot(), window)
    assert PRINT.matches(snapshot(created_at=T0 - window), window)
    assert PRINT.matches(snapshot(created_at=datetime(2026, 3, 2, 9, 0, 4)), window)  # naive: UTC
    assert PRINT.matches(snapshot(created_at=None), window)


@pytest.mark.parametrize("changes", [
    {"symbol": "000660"}, {"side": Side.SELL}, {"quantity": Decimal("11")},
    {"quantity": None}, {"limit_price": Decimal("71100")}, {"limit_price": None},
    {"created_at": T0 + timedelta(seconds=6)},
])
def test_a_fingerprint_rejects_another_order(changes: dict[str, object]) -> None:
    assert not PRINT.matches(snapshot(**changes), timedelta(seconds=5))


def test_a_notional_order_is_matched_without_its_quantity() -> None:
    request = OrderRequest(symbol="005930", side=Side.BUY, notional=Decimal("710000"))
    order = Order(id="k3x9p2qa-1", venue="kis", request=request, quantity=None, created_at=T0)
    fingerprint = Fingerprint.of(order)
    assert fingerprint.quantity is None
    assert fingerprint.matches(snapshot(order_type=OrderType.MARKET, limit_price=None,
                                        quantity=Decimal("10")), timedelta(seconds=5))
    with pytest.raises(ValueError):
        fingerprint.matches(snapshot(), timedelta(seconds=-1))


def replacement_of(old_venue_id: str | None = "0000100") -> tuple[Order, str | None]:
    """A replacement asked for 10 at 71000, of the order the venue knows as ``0000100``."""
    request = OrderRequest(symbol="005930", side=Side.BUY, quantity=Decimal("10"),
                           order_type=OrderType.LIMIT, limit_price=Decimal("71000"))
    order = Order(id="k3x9p2qa-2", venue="kis", request=request, quantity=Decimal("10"),
                  created_at=T0, replaces="k3x9p2qa-1")
    return order, old_venue_id


def test_a_replacement_is_found_with_the_size_the_venue_gave_it() -> None:
    """A fill raced the replace: the venue kept only what was open (4 of the 10 asked)."""
    order, old = replacement_of()
    smaller = snapshot(quantity=Decimal("4"))
    assert find_by_fingerprint(order, [smaller], set(), replaced=old) == smaller
    # Nothing can be larger than what was asked for, and an order that was itself
    # replaced is an earlier order of the chain, never the replacement.
    assert find_by_fingerprint(order, [snapshot(quantity=Decimal("11"))], set(),
                               replaced=old) is None
    assert find_by_fingerprint(order, [snapshot(quantity=Decimal("4"),
                                                state=OrderState.REPLACED)], set(),
                               replaced=old) is None
    # An order that is not a replacement keeps the exact quantity in its fingerprint.
    plain = Order(id="k3x9p2qa-3", venue="kis", request=order.request,
                  quantity=Decimal("10"), created_at=T0)
    assert find_by_fingerprint(plain, [smaller], set()) is None


def test_a_replacement_linked_by_the_venue_must_link_to_the_replaced_order() -> None:
    order, old = replacement_of()
    linked = snapshot(venue_order_id="0000118", quantity=Decimal("4"), replaces=old)
    other = snapshot(venue_order_id="0000119", quantity=Decimal("10"), replaces="0000099",
                     created_at=T0)
    assert find_by_fingerprint(order, [other, linked], set(), replaced=old) == linked
    assert find_by_fingerprint(order, [other], set(), replaced=old) is None
    # Without the replaced order's venue id the size bound alone decides.
    assert find_by_fingerprint(order, [linked], set(), replaced=None) == linked
