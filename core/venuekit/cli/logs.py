"""How the CLI writes log records: to stderr, for people or as JSON lines.

Library code logs with structured fields (``extra={"order_id": ..., "code": ...,
"cause": ...}``) and never configures logging; the command line does, here. On the console
those fields follow the message as ``key=value``, so that a warning says which order and
why; with ``--log-json`` (or ``VENUEKIT_LOG_JSON=1``) each record is one JSON object per
line, the fields as keys, for a log collector.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

__all__ = ["LOG_JSON_ENV", "FieldsFormatter", "configure", "json_formatter"]

FORMAT = "%(levelname)s %(name)s: %(message)s"

LOG_JSON_ENV = "VENUEKIT_LOG_JSON"
"""Environment variable that turns on JSON log lines, as ``--log-json`` does."""

# The attributes every LogRecord has; anything else on a record came as a field.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _shown(value: object) -> str:
    text = str(value)
    return repr(text) if not text or any(c.isspace() for c in text) else text


class FieldsFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...``, the fields in the order they were given;
    a traceback, when the record has one, follows on the next lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        fields = [f"{key}={_shown(value)}" for key, value in vars(record).items()
                  if key not in _STANDARD and not key.startswith("_")]
        return f"{text} {' '.join(fields)}" if fields else text


def json_formatter() -> logging.Formatter:
    """One JSON object per record: ``level``, ``logger``, ``message``, then the
    record's fields (Decimals and other values as their text), ``exc_info`` if any, and
    ``time`` (ISO 8601, UTC)."""
    return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"},
                         reserved_attrs=[*_STANDARD - {"levelname", "name", "message"}])


def configure(level: int, *, as_json: bool = False) -> None:
    """Send records at ``level`` and above to stderr, as JSON lines or for the console."""
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter() if as_json else FieldsFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
