"""venuekit-kis: Korea Investment & Securities domestic stocks, and a KIS emulator."""
