"""A KIS (Korea Investment & Securities) paper-trading (모의투자) emulator on 127.0.0.1,
backed by the mock venue's matching engine.

Clients written from KIS's documentation run against it configured only by its addresses
(``KIS_BASE_URL`` for REST, ``KIS_WS_URL`` + ``/tryitout`` for the websocket) and the app's
credentials. Use it for offline paper trading (``venuekit emulate kis``) and in tests::

    from venuekit_kis.emulator import KisEmulator, run_in_thread

    async with KisEmulator(seed=7) as emulator:
        emulator.base_url, emulator.ws_url, emulator.app_key, emulator.app_secret
        emulator.account, emulator.hts_id                 # 50000000-01, venuekit
        emulator.control.set_quote("005930", "70900", "71000")

    with run_in_thread(seed=7) as emulator:     # for synchronous clients
        ...

What is served (every value a string, won and shares as whole numbers, times in KST):

* ``POST /oauth2/tokenP`` (a token per ``token_interval``, the same token for 6 hours,
  403 ``EGW00133`` when asked too soon), ``POST /oauth2/Approval`` (websocket approval
  keys), ``POST /oauth2/revokeP``, ``POST /uapi/hashkey``; see :mod:`.auth`;
* ``POST /uapi/domestic-stock/v1/trading/order-cash`` (``VTTC0012U``/``VTTC0802U`` buy,
  ``VTTC0011U``/``VTTC0801U`` sell; limit ``00`` and market ``01``) and ``order-rvsecncl``
  (``VTTC0013U``/``VTTC0803U``; cancel and modify, whole or partial), see :mod:`.orders`;
* ``GET …/trading/inquire-daily-ccld`` (``VTTC0081R``/``VTTC8001R``, 15 rows a page, cancel
  and modify orders as rows), see :mod:`.daily_orders`; ``…/inquire-balance``
  (``VTTC8434R``, 20 a page) and ``…/inquire-psbl-order`` (``VTTC8908R``), see
  :mod:`.holdings`;
* ``GET /uapi/domestic-stock/v1/quotations/inquire-price`` (``FHKST01010100``) and
  ``…/inquire-asking-price-exp-ccn`` (``FHKST01010200``), see :mod:`.quotations`;
* for python-kis's account calls, empty overseas answers (``VTRP6504R``, ``VTTS3012R``,
  ``VTTS3035R``, ``VTTS3018R``), see :mod:`.extras`;
* the websocket at ``/tryitout`` and ``/``: ``H0STCNI9`` execution notices, AES-256-CBC
  encrypted with a fresh key per subscription, 26 or 23 fields, and PINGPONG heartbeats;
  see :mod:`.stream` and :mod:`.notices`;
* the control API under ``/_venuekit/``: see :mod:`.control`.

Every REST call checks ``appkey``, ``appsecret``, the bearer token and the ``tr_id`` (the
paper ids of both generations; the real server's ``T…`` ids are refused), is limited to
``rate_limit`` requests per second (HTTP 500 ``EGW00201`` beyond, :mod:`.ratelimit`), and
inquiries answer the lower-case header ``tr_cont``. Order refusals are HTTP 200 with
``rt_cd`` ``"1"`` and KIS's Korean messages (:mod:`.errors`). Injected faults act at the
wire (:mod:`.rest`, :mod:`.stream`). Where KIS's behaviour is not known, the emulator's
choice is said so in the module that makes it.
"""

from .auth import DEFAULT_ACCOUNT, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_HTS_ID
from .control import KisControl, KisStatistics
from .server import KisEmulator, run_in_thread
from .symbols import DEFAULT_LISTINGS, DEFAULT_SYMBOLS, Listing

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "DEFAULT_HTS_ID",
    "DEFAULT_LISTINGS",
    "DEFAULT_SYMBOLS",
    "KisControl",
    "KisEmulator",
    "KisStatistics",
    "Listing",
    "run_in_thread",
]
