"""A REST request as the handlers read it, and the answer they give.

:class:`KisRequest` holds what the pipeline checked (the ``tr_id``) and the request's
parameters: the query string of a GET or the JSON object of a POST. KIS's parameter names
are upper-case; python-kis sends the paging keys in lower case (``ctx_area_fk100``), so
:meth:`KisRequest.get` accepts either spelling of every key. Values are strings; a JSON
number in a POST body is read as its text.

:class:`Answer` is a success: its JSON body (``rt_cd`` ``"0"``, ``msg_cd``, ``msg1`` and the
outputs) and extra headers (the lower-case ``tr_cont`` of inquiries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors

__all__ = ["Answer", "KisRequest", "success"]


@dataclass(frozen=True)
class KisRequest:
    method: str
    path: str
    tr_id: str
    params: Mapping[str, Any]
    raw: str = ""
    """A POST's body as sent (the hashkey is computed over it)."""

    def get(self, name: str) -> str:
        """The parameter ``name`` (or its lower-case spelling) as text, ``""`` if absent."""
        value = self.params.get(name)
        if value is None:
            value = self.params.get(name.lower())
        if value is None or isinstance(value, dict | list):
            return ""
        if isinstance(value, bool):
            return "Y" if value else "N"
        return str(value).strip()


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def success(message: errors.Message, headers: dict[str, str] | None = None,
            **outputs: Any) -> Answer:
    """``{"rt_cd": "0", "msg_cd", "msg1", **outputs}`` (outputs in the order given)."""
    code, text = message
    return Answer({"rt_cd": "0", "msg_cd": code, "msg1": text, **outputs}, headers or {})
