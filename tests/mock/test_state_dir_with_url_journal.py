"""A journal on a server has no directory: the venue's state directory is made for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from venuekit.settings import load_settings


def test_a_url_journal_still_gets_a_state_directory(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VENUEKIT_JOURNAL", raising=False)
    settings = load_settings(journal="postgresql://trader@db.example/book")
    assert not settings.state_dir.exists()
    settings.build_venue("mock")
    assert (tmp_path / settings.state_dir).is_dir()
