"""Import alpaca-py through the plugin first: the plugin silences the one DeprecationWarning
alpaca-py's own imports raise (websockets.legacy), which the suite turns into errors."""

import venuekit_alpaca.sdk  # noqa: F401
