"""Re-exported from :mod:`tests.support.helpers`, where the shared helpers live."""

from tests.support.helpers import D, flat, run, simulator

__all__ = ["D", "flat", "run", "simulator"]
