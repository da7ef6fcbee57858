"""Helpers shared by the test folders: a frozen market, running coroutines, the journal
compared with a simulated venue's ledger of truth, and killing a real process."""
