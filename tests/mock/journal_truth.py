"""Re-exported from :mod:`tests.support.journal_truth`, where the shared helpers live."""

from tests.support.journal_truth import (
    assert_journal_matches_ledger,
    journal_fills,
    ledger_fills,
)

__all__ = ["assert_journal_matches_ledger", "journal_fills", "ledger_fills"]
