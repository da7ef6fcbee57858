"""Secret scan: run representative work with sentinel credentials and search every output.

Sentinel credentials (distinctive strings no code would produce) are set where users put
theirs: Alpaca's environment variables and the ``[venues.alpaca]`` table of the config file,
and passed explicitly to the Alpaca venue. Then the CLI (plugins, venues, quote, order,
rebalance with a report, orders, recover, a refused option), the engine with every
strategy, a rebalance and recovery under injected faults, and the Alpaca venue against a
local server answering every kind of error run while everything is captured: every log
record at every level with its structured fields and traceback, stdout and stderr, the
journal's file bytes, the reports, and every exception's message, repr and details.
A finding is a sentinel (or a distinctive part of one) in any of it. The run prints one
JSON line: what was scanned, and the findings (0 expected).
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from venuekit.cli import main
from venuekit.errors import VenueKitError
from venuekit.plugins import reset_default_host

from .report import emit, machine
from .scenarios import run_scenario

KEY = "VKSENTINELKEY-3f9a1c77e2d84b05"
SECRET = "VKSENTINELSECRET-b6e0d2a94c1f7e38aa51"
SENTINELS = (KEY, SECRET, KEY.split("-")[1], SECRET.split("-")[1])
ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "docs/examples/rebalance.json"
CONFIG = "venuekit.toml"
SCANNED: dict[str, int] = {}
FINDINGS: list[dict[str, str]] = []


class Capture(logging.Handler):
    """Every record, rendered with its message, structured fields and traceback."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
        "message", "asctime"}

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in record.__dict__.items() if k not in self._STANDARD}
        text = f"{record.name} {record.levelname} {record.getMessage()} {extras!r}"
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        self.records.append(text)


def find(text: str) -> list[tuple[str, int]]:
    """Each sentinel (or distinctive part of one) in ``text``, with where it is."""
    return [(sentinel, text.index(sentinel)) for sentinel in SENTINELS if sentinel in text]


def scan(source: str, text: str) -> None:
    SCANNED[source.split(":")[0]] = SCANNED.get(source.split(":")[0], 0) + 1
    for sentinel, at in find(text):
        FINDINGS.append({"source": source, "sentinel": sentinel[:6] + "...",
                         "context": text[max(0, at - 80):at + 20]})


def scan_exception(source: str, exc: BaseException) -> None:
    text = f"{exc} {exc!r} " + "".join(traceback.format_exception(exc))
    if isinstance(exc, VenueKitError):
        text += f" {exc.message} {exc.details!r}"
    scan(f"exception:{source}", text)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Capture]:
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    reset_default_host()
    handler = Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        reset_default_host()
        for record in handler.records:
            scan("log", record)
        for path in sorted(tmp_path.rglob("*")):
            if path.is_file() and path.name != CONFIG:  # the input the user wrote
                scan(f"file:{path.name}", path.read_bytes().decode("utf-8", "replace"))


@pytest.fixture(scope="module", autouse=True)
def report_findings(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    emit(request.config, {"suite": "secret-scan", "machine": machine(),
                          "scanned": dict(sorted(SCANNED.items())),
                          "findings": len(FINDINGS), "where": FINDINGS[:20]})


def cli(*args: str) -> Any:
    result = CliRunner().invoke(main, ["-vv", *args])  # debug logs on stderr, scanned too
    scan(f"stdout:venuekit {' '.join(args[:2])}", result.stdout)
    scan(f"stderr:venuekit {' '.join(args[:2])}", result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        scan_exception(f"venuekit {args[0]}", result.exception)
    return result


def test_the_scanner_sees_a_leak_in_a_structured_field() -> None:
    handler = Capture()
    log = logging.getLogger("venuekit.scan-self-test")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("connecting", extra={"settings": {"token": SECRET.split("-")[1]}})
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    assert [s for s, _ in find(handler.records[0])] == [SECRET.split("-")[1]]
    assert find(f"Authorization: {KEY}")


def test_cli_commands_on_the_mock(captured: Capture) -> None:
    Path(CONFIG).write_text(
        f'[venues.alpaca]\napi_key = "{KEY}"\nsecret_key = "{SECRET}"\n', encoding="utf-8")
    assert cli("plugins").exit_code == 0
    assert cli("venues").exit_code == 0
    assert cli("quote", "AAPL").exit_code == 0
    assert cli("order", "buy", "AAPL", "3").exit_code == 0
    ran = cli("rebalance", str(PLAN), "--json", "--report", "report.json")
    assert ran.exit_code == 0, ran.output
    assert cli("orders", "--json").exit_code == 0
    assert cli("runs", "--json").exit_code == 0
    assert cli("recover", "--cancel-working", "--json").exit_code == 0
    assert cli("cancel", "--all", "--json").exit_code == 0
    refused = cli("quote", "AAPL", "-o", f"api_key={KEY}")  # the mock has no such setting
    assert refused.exit_code == 2
    assert Path(".venuekit/journal.sqlite3").exists() and Path("report.json").exists()
    assert captured.records, "nothing was logged: the scan would prove nothing"


def test_engine_strategies_rebalance_and_recovery_under_faults(captured: Capture,
                                                               tmp_path: Path) -> None:
    async def scenarios() -> None:
        for seed in (3, 7, 11, 19, 23):
            result = await run_scenario(seed, tmp_path)
            for note in result.notes:
                scan("exception:scenario", note)
            scan("report:scenario", json.dumps(result.as_dict()))

    asyncio.run(scenarios())
    assert len(captured.records) > 50


def _alpaca_calls(venue: Any) -> list[Callable[[], Any]]:
    from venuekit.model import OrderRequest
    from venuekit.venue import OrderRef

    request = OrderRequest(symbol="AAPL", side="buy", quantity="1", order_type="limit",
                           limit_price="100")
    ref = OrderRef(client_order_id="cid-1", venue_order_id="61e69015-8549-4bfd-b9c3-"
                   "01e75843f47d")
    return [lambda: venue.submit(request, "cid-1"), lambda: venue.fetch_order(ref),
            lambda: venue.cancel(ref), venue.account, lambda: venue.open_orders(),
            lambda: venue.submit(request, "cid-2"), lambda: venue.fetch_order(ref),
            lambda: venue.submit(request, "cid-3")]


def test_alpaca_venue_errors_and_answers(captured: Capture) -> None:
    pytest.importorskip("venuekit_alpaca.sdk", reason="the Alpaca plugin is not installed")
    from tests.alpaca.wire import ORDER, Answer, ScriptedServer
    from venuekit_alpaca.venue import AlpacaVenue

    answers = [Answer(401, {"code": 40110000, "message": "request is not authorized"}),
               Answer(404, {"code": 40410000, "message": "order not found"}),
               Answer(422, {"code": 42210000, "message": "order is not cancelable"}),
               Answer(403, {"code": 40310000, "message": "insufficient buying power"}),
               Answer(429, {"message": "too many requests"}, {"Retry-After": "0"}),
               Answer(500, raw=b"<html>upstream error</html>"),
               Answer(200, raw=b"{not json"),
               Answer(200, ORDER)]
    with ScriptedServer(answers) as server:
        venue = AlpacaVenue(api_key=KEY, secret_key=SECRET, base_url=server.url,
                            data_url=server.url, timeout=2)
        scan("repr:AlpacaVenue", f"{venue!r} {venue.settings!r} {venue.settings}")
        for call in _alpaca_calls(venue):
            try:
                scan("answer:alpaca", repr(asyncio.run(call())))
            except VenueKitError as exc:
                scan_exception("alpaca", exc)
        asyncio.run(venue.close())
        sent = [{k.lower(): v for k, v in seen.headers.items()} for seen in server.seen]
    assert len(sent) >= len(answers)
    # The credentials did reach the wire, in the headers Alpaca reads: the scan is live.
    assert all(h.get("apca-api-key-id") == KEY for h in sent)
    for bad in ({"base_url": "not a url"}, {"live": "true"}, {"no_such_setting": "1"}):
        try:
            AlpacaVenue(api_key=KEY, secret_key=SECRET, **bad)
        except VenueKitError as exc:
            scan_exception("alpaca settings", exc)
        else:
            pytest.fail(f"{bad} was accepted")


def test_alpaca_from_the_cli_with_environment_credentials(captured: Capture) -> None:
    pytest.importorskip("venuekit_alpaca.sdk", reason="the Alpaca plugin is not installed")
    from tests.alpaca.wire import Answer, ScriptedServer

    with ScriptedServer([Answer(401, {"code": 40110000, "message": "unauthorized."})] * 4
                        ) as server:
        refused = cli("quote", "AAPL", "--venue", "alpaca", "-o", f"base_url={server.url}",
                      "-o", f"data_url={server.url}", "-o", "timeout=2")
    assert refused.exit_code != 0
    live = cli("quote", "AAPL", "--venue", "alpaca", "-o", "live=true")
    assert live.exit_code == 2, live.output  # live trading needs VENUEKIT_LIVE=1 as well


def test_kis_from_the_cli_against_its_emulator(captured: Capture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """KIS's app key and secret in the environment, as a user sets them: quotes, the
    account, an order, the journal's listings, a refused secret; the access-token cache
    file (kept under the journal's directory) is scanned with the rest."""
    pytest.importorskip("venuekit_kis.emulator", reason="the KIS plugin is not installed")
    from venuekit_kis.emulator import run_in_thread

    with run_in_thread(app_key=KEY, app_secret=SECRET, rate_limit=1000.0,
                       token_interval=0.0, tick_interval=None) as emulator:
        for name, value in emulator.client_settings().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("KIS_APP_KEY", KEY)
        monkeypatch.setenv("KIS_APP_SECRET", SECRET)
        Path(CONFIG).write_text('[validation]\nmax_order_notional = "10000000"\n',
                                encoding="utf-8")
        assert cli("quote", "005930", "--venue", "kis").exit_code == 0
        assert cli("account", "--venue", "kis").exit_code == 0
        bought = cli("order", "buy", "005930", "2", "--venue", "kis")
        assert bought.exit_code == 0, bought.output
        assert cli("orders", "--json").exit_code == 0
        resting = cli("order", "buy", "005930", "1", "--limit", "50000", "--timeout", "0.5",
                      "--venue", "kis")
        assert resting.exit_code in (0, 1), resting.output  # resting, then cancelled
        monkeypatch.setenv("KIS_APP_SECRET", SECRET[::-1])
        refused = cli("account", "--venue", "kis", "-o", "token_cache=off")
        assert refused.exit_code != 0
    assert list(Path(".venuekit").rglob("kis-tokens/*.json")), "no token was cached"


def test_the_scan_finds_nothing() -> None:
    """Runs last in this module: every scan above added to FINDINGS."""
    assert SCANNED, "nothing was scanned"
    assert FINDINGS == []
