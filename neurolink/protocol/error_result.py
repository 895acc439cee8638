"""The canonical error record: what honest providers commit to when a job fails the same way for all.

A job whose input is malformed or unsafe, whose model does not fit its data, or whose output exceeds
its limit fails identically on every honest machine. Such a failure is a result: each provider stores
the same bytes (below), commits to and reveals their CID's digest, and is paid like for any result; the
requester fetches the record from the winning digest. The bytes depend on the error's class only:

    {"error":{"class":"UnsafeInput","field":"inputs","message":"an input could run code when loaded"},
     "format":"neurolink-error/1"}

as canonical JSON (sorted keys, no spaces, ASCII), with no timings, paths or free text from the failing
run, which would differ between machines. Failures that depend on the machine (out of memory, timeout,
a lost device or worker) are not results: the node gives the slot back (`JobMarket.abandon`).
"""

import json
from dataclasses import dataclass

FORMAT = "neurolink-error/1"

# Worker error codes (node.worker.errors) that every honest provider meets on the same job, with the
# spec field at fault and the fixed message of the record.
DETERMINISTIC: dict[str, tuple[str, str]] = {
    "InvalidJob": ("inputs", "the job's inputs cannot be run"),
    "InputTooLarge": ("limits.max_input_bytes", "an input exceeds the spec's input limit"),
    "UnsafeInput": ("inputs", "an input could run code when loaded"),
    "OutputTooLarge": ("limits.max_output_bytes", "the result exceeds the spec's output limit"),
    "WorkloadFailed": ("program", "the program failed on its inputs"),
}
# Codes that depend on the machine: the node abandons the slot instead of committing.
MACHINE: frozenset[str] = frozenset(
    {"OutOfMemory", "Timeout", "DevicesUnavailable", "WorkerCrashed", "SandboxUnavailable"}
)


@dataclass(frozen=True)
class ErrorResult:
    """One canonical error record."""

    error_class: str
    field: str
    message: str

    @classmethod
    def for_code(cls, code: str) -> "ErrorResult | None":
        """The record for a deterministic worker error code; None for any other code."""
        entry = DETERMINISTIC.get(code)
        return None if entry is None else cls(code, *entry)

    def to_bytes(self) -> bytes:
        """The canonical JSON bytes every honest provider stores."""
        error = {"class": self.error_class, "field": self.field, "message": self.message}
        record: dict[str, object] = {"error": error, "format": FORMAT}
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ErrorResult | None":
        """The record in `data`, or None when `data` is not one (an ordinary result)."""
        try:
            record = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            return None
        error = record.get("error")
        if not isinstance(error, dict):
            return None
        return cls(str(error.get("class", "")), str(error.get("field", "")), str(error.get("message", "")))
