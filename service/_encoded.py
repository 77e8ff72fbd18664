"""``/health`` answers encoded once per snapshot.

The answer's JSON is split around ``age_s``, the one field that changes from request to
request, so serving the latest snapshot costs a float format and a join instead of a
re-encode of every component and reason (up to a megabyte when every entity is stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ._model import HealthAnswer

__all__ = ["EncodedAnswer"]

#: Above this the encoded tail is sent as it is, after the head, rather than joined into one
#: body: the join would allocate and copy the whole answer per request (a megabyte when every
#: entity is stale), which costs more than the extra send.
_JOIN_BELOW = 64 * 1024

_SPLICED = "age_s"
_FIELDS = list(HealthAnswer.model_fields)
_BEFORE = set(_FIELDS[: _FIELDS.index(_SPLICED)])
_AFTER = set(_FIELDS[_FIELDS.index(_SPLICED) + 1:])


def _members(answer: HealthAnswer, fields: set[str]) -> bytes:
    """The ``"name":value`` members of ``fields`` in declaration order, without the braces."""
    if not fields:
        return b""
    return answer.model_dump_json(include=fields).encode()[1:-1]


@dataclass(frozen=True)
class EncodedAnswer:
    """An answer's JSON with a gap for ``age_s``: ``head`` ends with ``"age_s":``."""

    status_code: int
    head: bytes
    tail: bytes

    @classmethod
    def of(cls, answer: HealthAnswer, status_code: int) -> "EncodedAnswer":
        before, after = _members(answer, _BEFORE), _members(answer, _AFTER)
        head = b"{" + before + (b"," if before else b"") + f'"{_SPLICED}":'.encode()
        tail = (b"," if after else b"") + after + b"}"
        return cls(status_code, head, tail)

    def body(self, age_s: float) -> bytes:
        """The answer with ``age_s`` (rounded to milliseconds, as JSON numbers are written)."""
        return b"".join((self.head, repr(round(age_s, 3)).encode(), self.tail))

    def response(self, age_s: float) -> Response:
        if len(self.tail) < _JOIN_BELOW:
            return Response(content=self.body(age_s), status_code=self.status_code, media_type="application/json")
        return _TwoPartResponse(self.head + repr(round(age_s, 3)).encode(), self.tail, self.status_code)


class _TwoPartResponse(Response):
    """One JSON body sent as two ``http.response.body`` messages under one Content-Length, so
    the large, shared tail goes to the transport without being copied."""

    media_type = "application/json"

    def __init__(self, first: bytes, second: bytes, status_code: int) -> None:
        self._parts = (first, second)
        super().__init__(status_code=status_code, headers={"content-length": str(len(first) + len(second))})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        first, second = self._parts
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        await send({"type": "http.response.body", "body": second})
