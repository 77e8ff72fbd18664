"""Parsing the ``at`` query parameter: RFC 3339 or epoch seconds, never in the future."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["InvalidAt", "parse_at"]

#: Clock skew between this process and the caller that still counts as "now".
_FUTURE_SLACK_S = 5.0


class InvalidAt(ValueError):
    """An ``at`` value that cannot be evaluated; the message says why and what is accepted."""


def parse_at(raw: str, now: datetime) -> datetime:
    """``raw`` as an aware UTC datetime. Raises :class:`InvalidAt` for garbage or a future time."""
    text = raw.strip()
    when: datetime | None = None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds != seconds or seconds in (float("inf"), float("-inf")) or not 0 <= seconds < 253402300800:
            raise InvalidAt(f"{raw!r} is not a usable epoch time in seconds")
        when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    else:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidAt(
                f"{raw!r} is neither RFC 3339 (e.g. 2026-11-29T03:12:00Z) nor epoch seconds (e.g. 1795921920)"
            ) from None
        if when.tzinfo is None:
            raise InvalidAt(f"{raw!r} has no time zone; add Z or an offset such as +01:00")
        when = when.astimezone(timezone.utc)
    if (when - now).total_seconds() > _FUTURE_SLACK_S:
        raise InvalidAt(f"{raw!r} is in the future (now is {now.isoformat(timespec='seconds')}); health can only be evaluated for the past")
    return when
