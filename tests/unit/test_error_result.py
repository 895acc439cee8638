"""The canonical error record: identical bytes for every honest provider, and only for deterministic codes."""

import json

from neurolink.protocol.error_result import DETERMINISTIC, FORMAT, MACHINE, ErrorResult


def test_record_bytes_are_canonical_and_depend_only_on_the_code() -> None:
    record = ErrorResult.for_code("UnsafeInput")
    assert record is not None
    data = record.to_bytes()
    assert data == (
        b'{"error":{"class":"UnsafeInput","field":"inputs",'
        b'"message":"an input could run code when loaded"},"format":"neurolink-error/1"}'
    )
    assert ErrorResult.for_code("UnsafeInput") == record and record.to_bytes() == data
    assert json.loads(data)["format"] == FORMAT
    assert ErrorResult.from_bytes(data) == record


def test_machine_failures_are_not_results() -> None:
    for code in MACHINE:
        assert ErrorResult.for_code(code) is None
    assert not MACHINE & DETERMINISTIC.keys()
    assert ErrorResult.for_code("SomethingElse") is None


def test_ordinary_results_are_not_error_records() -> None:
    assert ErrorResult.from_bytes(b"\x00\x01 tensor bytes") is None
    assert ErrorResult.from_bytes(b'{"format":"other"}') is None
    assert ErrorResult.from_bytes(b'{"format":"neurolink-error/1","error":3}') is None


def test_every_worker_code_is_classified() -> None:
    from node.worker.errors import ERRORS_BY_CODE

    unclassified = set(ERRORS_BY_CODE) - DETERMINISTIC.keys() - MACHINE
    # Generic, input-fetch and lost-reply failures are retried (an outage), never committed.
    assert unclassified == {"ExecutionFailed", "MissingInput", "NoReply"}
