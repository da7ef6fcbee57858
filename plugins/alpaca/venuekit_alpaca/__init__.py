"""venuekit-alpaca: Alpaca equities through alpaca-py, and an Alpaca-compatible emulator."""

__version__ = "0.1.0"
