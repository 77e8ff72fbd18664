"""``/health`` answers encoded once per snapshot.

The answer's JSON is split around ``age_s``, the one field that changes from request to
request, so serving the latest snapshot costs a float format and a join instead of a
re-encode of every component and reason (up to a megabyte when every entity is stale).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from ._model import HealthAnswer

__all__ = ["EncodedAnswer"]

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
        return Response(content=self.body(age_s), status_code=self.status_code, media_type="application/json")
