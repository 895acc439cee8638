"""Daemon log formats: one JSON object per line with the structured fields, or key=value text."""

import json
import logging

import pytest

from node.daemon.logs import JsonFormatter, TextFormatter, setup_logging


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("node.daemon.daemon", logging.INFO, __file__, 1, "skipping job", None, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_extra_fields() -> None:
    line = JsonFormatter().format(_record(job_id=4, reason="needs 4 devices", amount=2**100))
    data = json.loads(line)
    assert (
        data["msg"] == "skipping job" and data["level"] == "info" and data["logger"] == "node.daemon.daemon"
    )
    assert data["job_id"] == 4 and data["reason"] == "needs 4 devices" and data["amount"] == 2**100


def test_text_lines_append_key_values() -> None:
    line = TextFormatter().format(_record(job_id=4))
    assert line.endswith("skipping job  job_id=4") and "INFO" in line


def test_setup_logging_routes_the_root_logger(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(as_json=True)
    logging.getLogger("node.daemon.test").info("hello", extra={"job_id": 1})
    logging.getLogger("web3.providers").info("request body")  # quieted below WARNING
    lines = capsys.readouterr().err.strip().splitlines()
    assert [json.loads(x)["msg"] for x in lines] == ["hello"]
    logging.getLogger().handlers.clear()
