"""The simulated venue's engine, importable on its own: no I/O, no asyncio, Decimal only.

The mock venue wraps it in the async Venue contract; the Alpaca, Binance and KIS protocol
emulators serve it over their venues' wire formats. A minimal session::

    from decimal import Decimal
    from venuekit.model import Side
    from venuekit_mock.sim import Simulator, SimConfig

    sim = Simulator(SimConfig(seed=7))
    order, events = sim.submit("AAPL", Side.BUY, Decimal(10))
    events += sim.advance(5)
    sim.ledger.fills_for(venue_order_id=order.venue_order_id)
"""

from .account import Holding, SimAccount
from .config import CLIENT_ID_ALPHABET, SIM_EPOCH, SimConfig
from .engine import Simulator
from .faults import (
    DISCONNECT,
    REQUEST_FAULTS,
    STREAM_FAULTS,
    Delivery,
    Fault,
    FaultPlan,
    StreamMarker,
)
from .ledger import (
    Fingerprint,
    Ledger,
    LedgerCancel,
    LedgerFault,
    LedgerReject,
    LedgerReplace,
    fingerprint,
)
from .market import Book, Market, QuoteReplay, ReplayQuote
from .models import (
    CommissionModel,
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PercentageSlippage,
    PerShareCommission,
    SlippageModel,
    TieredCommission,
    VolumeImpactSlippage,
)
from .records import OrderView, SimEvent, SimFill, SimOrder, Statistics
from .symbols import DEFAULT_SYMBOLS, KRX_TICK_TABLE, SymbolSpec

__all__ = [
    "CLIENT_ID_ALPHABET",
    "DEFAULT_SYMBOLS",
    "DISCONNECT",
    "KRX_TICK_TABLE",
    "REQUEST_FAULTS",
    "SIM_EPOCH",
    "STREAM_FAULTS",
    "Book",
    "CommissionModel",
    "Delivery",
    "Fault",
    "FaultPlan",
    "Fingerprint",
    "Holding",
    "Ledger",
    "LedgerCancel",
    "LedgerFault",
    "LedgerReject",
    "LedgerReplace",
    "Market",
    "NoCommission",
    "NoSlippage",
    "OrderView",
    "PerShareCommission",
    "PercentageCommission",
    "PercentageSlippage",
    "QuoteReplay",
    "ReplayQuote",
    "SimAccount",
    "SimConfig",
    "SimEvent",
    "SimFill",
    "SimOrder",
    "Simulator",
    "SlippageModel",
    "Statistics",
    "StreamMarker",
    "SymbolSpec",
    "TieredCommission",
    "VolumeImpactSlippage",
    "fingerprint",
]
