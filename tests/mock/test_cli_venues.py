"""With the mock installed, `venuekit venues` and `plugins` show it as a user sees it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from venuekit.cli import main
from venuekit.plugins import reset_default_host


def test_venues_lists_mock_with_its_capabilities() -> None:
    reset_default_host()
    result = CliRunner().invoke(main, ["venues", "--json"])
    assert result.exit_code == 0, result.output
    venues = {v["name"]: v for v in json.loads(result.output)["venues"]}
    caps = venues["mock"]["capabilities"]
    assert venues["mock"]["plugin"] == "mock"
    assert caps["client_order_ids"] is True and caps["order_stream"] is True
    assert caps["short_selling"] is False
    table = CliRunner().invoke(main, ["venues"])
    assert table.exit_code == 0 and "mock" in table.output and "client order ids" in table.output


def test_plugins_lists_venuekit_mock_with_version_and_hooks() -> None:
    reset_default_host()
    result = CliRunner().invoke(main, ["plugins", "--json"])
    plugins = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    assert plugins["mock"]["distribution"] == "venuekit-mock"
    assert plugins["mock"]["version"] == "0.1.0"
    assert plugins["mock"]["hooks"] == ["venuekit_register_venues"]
    assert plugins["venuekit.builtins"]["builtin"] is True


def test_a_plugin_left_out_by_the_environment_is_named_not_asked_to_be_installed() -> None:
    runner = CliRunner()
    reset_default_host()
    typo = runner.invoke(main, ["venues"], env={"VENUEKIT_LOAD_PLUGINS": "nonexistent"})
    reset_default_host()
    assert typo.exit_code == 0
    said = " ".join(typo.output.split())
    assert "VENUEKIT_LOAD_PLUGINS names 'nonexistent', but no installed plugin has that" in said
    assert "VENUEKIT_LOAD_PLUGINS leaves out the installed plugin(s)" in said and "mock" in said
    assert "pip install" not in said

    quote = runner.invoke(main, ["quote", "AAPL"], env={"VENUEKIT_DISABLE_PLUGINS": "mock"})
    reset_default_host()
    assert quote.exit_code == 2
    said = " ".join(quote.output.split())
    assert "no venue named 'mock' is registered" in said
    assert "VENUEKIT_DISABLE_PLUGINS leaves out the installed plugin(s) mock" in said
