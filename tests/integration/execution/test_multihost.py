"""A provider on three hosts (network namespaces on this machine, one Redis): a 4-rank job spanning two
hosts gives the bytes of the same job on one host; a host killed mid-job fails that attempt, its devices
are freed, and the job runs again on the hosts that are left."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REDIS_URL

from node.multihost import run_scenario

pytestmark = pytest.mark.integration


def test_a_job_spans_hosts_with_the_same_bytes_and_survives_losing_one(tmp_path: Path) -> None:
    # CI's machines have both; a machine without them fails here rather than skipping the test.
    assert os.geteuid() == 0 and shutil.which("ip"), "network namespaces need root and iproute2"
    report = run_scenario(tmp_path, REDIS_URL, dead_after_s=2.0)
    assert report["one_host"]["hosts"] == ["h0"]
    assert report["spanning"]["hosts"] == ["h1", "h2"]
    assert report["bytes_equal"] is True
    # The attempt failed on heartbeat loss (a dead worker answers nothing), well before the job's deadline.
    lost = report["after_loss"]
    assert "worker lost mid-job" in lost["error"] and "h2" in lost["error"]
    assert report["reclaim_s"] < 2.0 + 3.0
    assert lost["dead_hosts"] == ["h2"]
    # Freed: no device is still held by the failed attempt; h2's are dead, the others free.
    assert {q: s for q, s in lost["states"].items() if ".h2." in q} == {
        q: "dead" for q in lost["states"] if ".h2." in q
    }
    assert all(s == "free" for q, s in lost["states"].items() if ".h2." not in q)
    assert lost["rerun_hosts"] == ["h0"] and report["rerun_after_host_loss"] is True
    # Every namespace the test made is gone.
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert report["netns_tag"] not in listed
