"""The opaque values of Dataverse change tracking (api-protocols.md A8): ``$deltatoken`` and
the ``$skiptoken`` of a delta's later pages.

A delta token has the documented shape ``<version>!<MM/dd/yyyy HH:mm:ss>`` (UTC), e.g.
``919042!08/22/2017 08:10:44``: the version the next delta starts after, and when the token
was issued, which is what the retention period is measured from.

Rejected tokens: A8 only says that expired tokens "raise an exception". The Web API status is
not documented; the sandbox answers 400 with the organization service's ExpiredVersionStamp
code ``0x80044352`` and its message "Version stamp associated with the client has expired.
Please perform a full sync." (what ``RetrieveEntityChanges`` raises for an old data version).
Garbled or never-issued tokens get the same status and code with a message naming the token,
so a client needs one rule: 400 with this code means "start over with a full read".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote, unquote

from reconciler.sandbox.service_errors import ServiceError

EXPIRED_VERSION_STAMP = "0x80044352"
EXPIRED_MESSAGE = (
    "Version stamp associated with the client has expired. Please perform a full sync."
)
_TOKEN = re.compile(r"(\d{1,18})!(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})")
_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
_OUTER = re.compile(r'<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"\s+istracking="True"')

Phase = Literal["updated", "deleted"]


def expired_token() -> ServiceError:
    return ServiceError(400, EXPIRED_MESSAGE, code=EXPIRED_VERSION_STAMP)


def invalid_token(text: str) -> ServiceError:
    return ServiceError(
        400,
        f"The $deltatoken '{text}' is not valid. Please perform a full sync.",
        code=EXPIRED_VERSION_STAMP,
    )


@dataclass(frozen=True)
class DeltaToken:
    version: int
    issued: datetime

    def text(self) -> str:
        """The token, not yet URL-encoded."""
        return f"{self.version}!{self.issued.astimezone(UTC).strftime(_TIME_FORMAT)}"

    @classmethod
    def parse(cls, text: str) -> DeltaToken:
        match = _TOKEN.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            issued = datetime.strptime(match.group(2), _TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise invalid_token(text) from None
        return cls(int(match.group(1)), issued)

    def check(self, current: int, oldest_valid: int, now: datetime, retention_s: float) -> None:
        """Reject a token for a version never handed out, one made stale by
        ``expire_change_tokens``, or one at least ``retention_s`` seconds old."""
        if self.version > current:
            raise invalid_token(self.text())
        if self.version < oldest_valid or (now - self.issued).total_seconds() >= retention_s:
            raise expired_token()


@dataclass(frozen=True)
class DeltaCursor:
    """Where the next page of a delta starts: the delta covers changes up to ``upto``
    (fixed on its first page); updated rows come first, then deletions, each by version, and
    ``after`` is the last version already returned in ``phase``."""

    page_number: int
    upto: int
    phase: Phase
    after: int

    def encode(self) -> str:
        """``$skiptoken`` in the documented outer shape (not yet URL-encoded)."""
        inner = ET.Element("cookie", page=str(self.page_number - 1))
        inner.set("upto", str(self.upto))
        inner.set("phase", self.phase)
        inner.set("after", str(self.after))
        escaped = quote(ET.tostring(inner, encoding="unicode"), safe="")
        return (
            f'<cookie pagenumber="{self.page_number}" pagingcookie="{escaped}" istracking="True" />'
        )

    @classmethod
    def decode(cls, token: str) -> DeltaCursor:
        match = _OUTER.search(token)
        try:
            if match is None:
                raise ValueError("not a delta paging cookie")
            inner = ET.fromstring(unquote(match.group(2)))
            phase: Phase = "deleted" if inner.get("phase") == "deleted" else "updated"
            if inner.get("phase") != phase:
                raise ValueError("no phase")
            upto, after = int(inner.get("upto", "")), int(inner.get("after", ""))
        except (ValueError, ET.ParseError) as exc:
            raise ServiceError(
                400, f"The $skiptoken value is not valid for this query: {exc}.", code="0x80060888"
            ) from None
        return cls(int(match.group(1)), upto, phase, after)
