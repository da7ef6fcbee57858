"""venuekit-ccxt: crypto exchanges through ccxt and ccxt.pro, and a Binance-spot emulator."""
