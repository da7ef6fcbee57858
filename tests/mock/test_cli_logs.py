"""What `venuekit -v` writes to stderr, seen from a real process as a user runs it: each
log record with its structured fields (which order, which venue, what went wrong)."""

from __future__ import annotations

from pathlib import Path

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


def test_without_v_only_warnings_and_worse_are_written(tmp_path: Path) -> None:
    directory = workspace(tmp_path / "w")
    done = run(directory, "order", "buy", "AAPL", "1")
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr
