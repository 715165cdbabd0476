"""Emulated wait condition handles: presigned URLs, the signals PUT to them, their verdict.

``Ref`` of an ``AWS::CloudFormation::WaitConditionHandle`` is a presigned URL (CloudFormation's
user guide), here one on the served emulation carrying a secret signature
(``X-Amz-Signature=SECRET-WAIT-...``): a test that finds that text in a log line, an output
or a definition has found a leaked credential. A PUT to it stores one signal, as S3 stores an
object: a PUT whose signature differs, or whose ``Content-Type`` is not empty (the URL is
signed without one, so S3 answers ``SignatureDoesNotMatch``: the cfn-signal documentation's
``curl -X PUT -H 'Content-Type:'``), is refused with a 403.

A wait condition reads every signal of its handle (CloudFormation's user guide warns that a
reused handle's old signals count): signals with the same ``UniqueId`` are one signal (the
last one counts); it succeeds once ``Count`` distinct SUCCESS signals arrived, fails at the
first FAILURE with CloudFormation's words ("WaitCondition received failed message: '<Reason>'
for uniqueId: <UniqueId>"), fails on a signal that is not a JSON object with ``Status`` and
``UniqueId`` ("Unparsable WaitCondition data"), and times out with "WaitCondition timed out.
Received <n> conditions when expecting <Count>" (the texts stack events show; public issue
threads quote them). Its ``Data`` attribute is the JSON object of UniqueId to Data.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from .dms_double import REGION
from .served import STACK_ID

PATH_PREFIX: Final = f"/cloudformation-waitcondition-{REGION}/"
SECRET_PREFIX: Final = "SECRET-WAIT-"
"""Every handle's signature starts with this: searching for it finds any leaked handle URL."""
MAX_TIMEOUT_SECONDS: Final = 43200
"""The wait condition's maximum ``Timeout`` (12 hours, its resource reference)."""
STATUSES: Final = ("SUCCESS", "FAILURE")


@dataclass(frozen=True)
class Signal:
    status: str
    unique_id: str
    reason: str
    data: str
    at: float
    """When it arrived (virtual clock)."""


@dataclass
class Handle:
    logical_id: str
    path: str
    signature: str
    signals: dict[str, Signal] = field(default_factory=dict)
    """By UniqueId: a later signal with the same id replaces the earlier one."""
    unparsable: list[bytes] = field(default_factory=list)
    deleted_at: float | None = None


@dataclass(frozen=True)
class Verdict:
    """Where a wait condition stands: ``failure`` set, done, or still waiting."""

    done: bool = False
    failure: str = ""
    data: str = "{}"
    received: int = 0


@dataclass
class WaitConditions:
    """Every handle of the emulated account, by URL path; the served emulation's signals."""

    base_url: str = "https://127.0.0.1:0"
    handles: dict[str, Handle] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of every PUT answered with an error."""
    late_signals: list[tuple[str, Signal]] = field(default_factory=list)
    """Signals PUT to a handle after CloudFormation deleted it (logical id, signal)."""

    def create_handle(self, logical_id: str) -> str:
        """A new handle's presigned URL (``Ref``)."""
        path = PATH_PREFIX + quote(f"{STACK_ID}/{logical_id}", safe="")
        signature = SECRET_PREFIX + secrets.token_hex(16)
        self.handles[path] = Handle(logical_id, path, signature)
        return self.url_of(self.handles[path])

    def url_of(self, handle: Handle) -> str:
        return (
            f"{self.base_url}{handle.path}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Date=20260301T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86399"
            f"&X-Amz-Credential=AKIAEMULATED%2F20260301%2F{REGION}%2Fs3%2Faws4_request"
            f"&X-Amz-Signature={handle.signature}"
        )

    def handle_of(self, url: str) -> Handle:
        path = url.removeprefix(self.base_url).split("?", 1)[0]
        return self.handles[path]

    def delete_handle(self, url: str, now: float) -> None:
        self.handle_of(url).deleted_at = now

    # -- the PUT ---------------------------------------------------------------------------

    def receive(
        self, path: str, signature: str, content_type: str | None, body: bytes, now: float
    ) -> tuple[int, str]:
        """Store one signal PUT to ``path``: the HTTP status and S3's answer body."""
        handle = self.handles.get(path)
        if handle is None or signature != handle.signature or content_type:
            why = "no such handle" if handle is None else "signature or Content-Type"
            self.refused.append((path, why))
            return 403, _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        signal = _parse(body, now)
        if signal is None:
            handle.unparsable.append(body)
        elif handle.deleted_at is not None:
            self.late_signals.append((handle.logical_id, signal))
        else:
            handle.signals[signal.unique_id] = signal
        return 200, ""

    # -- the wait condition ----------------------------------------------------------------

    def verdict(self, url: str, count: int) -> Verdict:
        handle = self.handle_of(url)
        if handle.unparsable:
            return Verdict(failure="Unparsable WaitCondition data")
        signals = list(handle.signals.values())
        for signal in signals:
            if signal.status == "FAILURE":
                return Verdict(
                    failure=f"WaitCondition received failed message: '{signal.reason}' for "
                    f"uniqueId: {signal.unique_id}"
                )
        succeeded = {s.unique_id: s.data for s in signals if s.status == "SUCCESS"}
        return Verdict(
            done=len(succeeded) >= count, data=json.dumps(succeeded), received=len(succeeded)
        )

    @staticmethod
    def timed_out(received: int, count: int) -> str:
        return f"WaitCondition timed out. Received {received} conditions when expecting {count}"

    def signals(self) -> list[tuple[str, Signal]]:
        """Every signal stored, with its handle's logical id."""
        return [(h.logical_id, s) for h in self.handles.values() for s in h.signals.values()]


def _parse(body: bytes, now: float) -> Signal | None:
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("Status") not in STATUSES:
        return None
    if not isinstance(document.get("UniqueId"), str):
        return None
    return Signal(
        document["Status"],
        document["UniqueId"],
        str(document.get("Reason", "")),
        str(document.get("Data", "")),
        now,
    )


def _s3_error(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
