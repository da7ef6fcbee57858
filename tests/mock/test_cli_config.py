"""``venuekit config`` and a misspelt config file, as a user meets them: the command in a
process of its own, in a directory holding the user's ``venuekit.toml``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import environment

SECRET = "sk-do-not-print-9f2c"


def venuekit(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "venuekit", *args], cwd=directory,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=environment({"COLUMNS": "100", **env}))


def test_the_misspelt_table_of_the_old_mock_page_is_refused_naming_the_right_one(
        tmp_path: Path) -> None:
    (tmp_path / "venuekit.toml").write_text('[venue.mock]\ncash = "250000"\n')
    quoted = venuekit(tmp_path, "quote", "AAPL")
    assert quoted.returncode == 2, quoted.stderr
    assert "INVALID_CONFIG: unknown table [venue.mock] in venuekit.toml; did you mean " \
           "[venues.mock]?" in " ".join(quoted.stderr.split())
    as_json = venuekit(tmp_path, "config", "--json")
    assert as_json.returncode == 2
    said = json.loads(as_json.stdout)["error"]
    assert said["code"] == "INVALID_CONFIG" and "[venues.mock]" in said["message"]


def test_config_shows_each_value_and_where_it_came_from_with_secrets_masked(
        tmp_path: Path) -> None:
    (tmp_path / "venuekit.toml").write_text(
        'journal = "books/journal.sqlite3"\n\n[venues.mock]\nseed = 7\ncash = "250000"\n\n'
        f'[venues.alpaca]\nbase_url = "http://127.0.0.1:8080"\nsecret_key = "{SECRET}"\n\n'
        '[validation]\nmax_spread_bps = 50\n\n[validation.live]\n'
        'max_order_notional = "20000"\n')
    shown = venuekit(tmp_path, "config", "--json", "-o", "seed=9", "--environment", "live",
                     APCA_API_KEY_ID=SECRET, VENUEKIT_LIVE="0")
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    report = json.loads(shown.stdout)
    assert report["config_file"] == {"path": "venuekit.toml", "from": "working directory"}
    assert report["journal"] == {"value": "books/journal.sqlite3", "from": "config file"}
    assert report["state_dir"] == {"value": "books", "from": "journal's directory"}
    mock = report["venues"]["mock"]
    assert mock["options"]["seed"] == {"value": "9", "from": "-o"}
    assert mock["options"]["cash"] == {"value": "250000", "from": "config file"}
    assert mock["check"] == "ok" and mock["installed"] is True
    alpaca = report["venues"]["alpaca"]["options"]
    assert alpaca["secret_key"]["value"] == "***"
    assert alpaca["base_url"]["value"] == "http://127.0.0.1:8080"
    rules = report["validation"]["rules"]
    assert rules["max_order_notional"] == {"value": "20000", "from": "[validation.live]"}
    assert rules["max_spread_bps"] == {"value": "50", "from": "[validation]"}
    assert rules["warn_at"]["from"] == "default"
    variables = report["environment"]
    assert variables["VENUEKIT_LIVE"]["value"] == "0"
    if importlib.util.find_spec("venuekit_alpaca") is None:  # the mock's own environment
        # Without the plugin its table is used by nothing, and said so; its variables
        # (APCA_*) are the plugin's to name (tests/alpaca checks them shown, masked).
        assert "APCA_API_KEY_ID" not in variables
        assert [n for n in report["notices"] if "[venues.alpaca]" in n], report["notices"]
    else:
        assert variables["APCA_API_KEY_ID"]["value"] == "***"
        assert report["notices"] == []
    people = venuekit(tmp_path, "config", "--journal", "elsewhere/j.sqlite3",
                      APCA_API_KEY_ID=SECRET)
    assert people.returncode == 0, people.stderr
    assert SECRET not in people.stdout + people.stderr
    assert "elsewhere/j.sqlite3    --journal" in people.stdout
    assert "venue mock: options accepted" in people.stdout


def test_config_names_what_is_configured_but_unused(tmp_path: Path) -> None:
    """A table no installed plugin registers, and a typo in a VENUEKIT_ variable: both are
    reported with the name meant, the file still loads and the command still works."""
    (tmp_path / "venuekit.toml").write_text("[venues.mokc]\nseed = 4\n")
    shown = venuekit(tmp_path, "config", "--json", VENUEKIT_JOURNL="j.sqlite3")
    assert shown.returncode == 0, shown.stderr
    notices = json.loads(shown.stdout)["notices"]
    assert "[venues.mokc] names no installed venue and is not used; did you mean " \
           "[venues.mock]?" in notices
    assert "VENUEKIT_JOURNL is not a variable venuekit reads and is ignored; did you mean " \
           "VENUEKIT_JOURNAL?" in notices
    quoted = venuekit(tmp_path, "quote", "AAPL", VENUEKIT_JOURNL="j.sqlite3")
    assert quoted.returncode == 0, quoted.stderr
    warned = " ".join(quoted.stderr.split())
    assert "unknown environment variable VENUEKIT_JOURNL is ignored; did you mean " \
           "VENUEKIT_JOURNAL?" in warned
    assert "[venues.mokc] in venuekit.toml names no installed venue and is not used; did " \
           "you mean [venues.mock]?" in warned


def test_config_refuses_options_the_venue_does_not_know_as_a_notice(tmp_path: Path) -> None:
    shown = venuekit(tmp_path, "config", "--venue", "mock", "-o", "sede=3")
    assert shown.returncode == 0, shown.stderr
    assert "venue mock: options refused (see the notices)" in shown.stdout
    assert "notice: venue mock:" in shown.stdout and "sede" in shown.stdout


def test_config_help_reads_as_a_command_of_its_own() -> None:
    helped = venuekit(Path.cwd(), "config", "--help")
    assert helped.returncode == 0
    for fragment in ("Show the effective configuration", "--environment NAME", "--json",
                     "Credentials (keys, secrets, tokens, account numbers) are masked"):
        assert fragment in helped.stdout
    listed = venuekit(Path.cwd(), "--help")
    assert "config" in listed.stdout
