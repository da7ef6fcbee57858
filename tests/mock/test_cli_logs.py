"""What `venuekit -v` writes to stderr, seen from a real process as a user runs it: each
log record with its structured fields (which order, which venue, what went wrong), on the
console or, with `--log-json` / `VENUEKIT_LOG_JSON=1`, as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run, workspace


def test_an_unknown_outcome_names_the_order_and_its_cause(tmp_path: Path) -> None:
    directory = workspace(tmp_path / "w")
    done = run(directory, "-v", "order", "buy", "AAPL", "1",
               "-o", "faults.drop_response=1")
    lines = [line for line in done.stderr.splitlines()
             if "create outcome unknown" in line]
    assert lines, done.stderr
    assert lines[0].startswith("WARNING venuekit.outcome: create outcome unknown")
    fields = dict(part.split("=", 1) for part in lines[0].split(" ") if "=" in part)
    assert fields["venue"] == "mock" and fields["code"] == "TIMEOUT"
    assert fields["order_id"].endswith("-1")
    assert "cause='submit timed out waiting for the response" in lines[0]


def _json_records(stderr: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert records, "no log record was written"
    return records


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_log_json_writes_one_object_per_record_with_its_fields(tmp_path: Path,
                                                                how: str) -> None:
    directory = workspace(tmp_path / "w")
    args = ["--log-json", "order"] if how == "flag" else ["order"]
    env = {"VENUEKIT_LOG_JSON": "1"} if how == "environment" else None
    done = run(directory, *args, "buy", "AAPL", "1", "-o", "faults.drop_response=1",
               "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "filled"  # stdout stays the result alone
    records = _json_records(done.stderr)  # every stderr line is a JSON object
    unknown = [r for r in records if r["message"] == "create outcome unknown; will look it up"]
    assert unknown, records
    record = unknown[0]
    assert record["level"] == "WARNING" and record["logger"] == "venuekit.outcome"
    assert record["order_id"].endswith("-1") and record["venue"] == "mock"
    assert record["code"] == "TIMEOUT"
    assert record["cause"].startswith("submit timed out waiting for the response")
    assert record["time"].startswith("20")


def test_log_json_with_v_carries_info_records_too(tmp_path: Path) -> None:
    directory = workspace(tmp_path / "w")
    done = run(directory, "-v", "--log-json", "order", "buy", "AAPL", "1")
    assert done.returncode == 0, done.stderr
    levels = {record["level"] for record in _json_records(done.stderr)}
    assert "INFO" in levels


def test_without_v_only_warnings_and_worse_are_written(tmp_path: Path) -> None:
    directory = workspace(tmp_path / "w")
    done = run(directory, "order", "buy", "AAPL", "1")
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr
