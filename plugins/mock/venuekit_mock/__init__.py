"""venuekit-mock: a deterministic simulated venue with fault injection and a ledger of truth.

``MockVenue`` implements the venuekit Venue contract over the matching engine in
:mod:`venuekit_mock.sim`, which has no I/O and is importable on its own (the protocol
emulators of the real venue plugins serve it over their wire formats).
"""

from .control import MockControl
from .sim import (
    DEFAULT_SYMBOLS,
    KRX_TICK_TABLE,
    CommissionModel,
    Fault,
    FaultPlan,
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PercentageSlippage,
    PerShareCommission,
    QuoteReplay,
    SlippageModel,
    SymbolSpec,
    TieredCommission,
    VolumeImpactSlippage,
)
from .venue import MockVenue

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SYMBOLS",
    "KRX_TICK_TABLE",
    "CommissionModel",
    "Fault",
    "FaultPlan",
    "MockControl",
    "MockVenue",
    "NoCommission",
    "NoSlippage",
    "PerShareCommission",
    "PercentageCommission",
    "PercentageSlippage",
    "QuoteReplay",
    "SlippageModel",
    "SymbolSpec",
    "TieredCommission",
    "VolumeImpactSlippage",
    "__version__",
]
