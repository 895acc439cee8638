"""The soak with chaos in small: `scripts/soak.py --jobs 20 --chaos` must come back clean.

The same script as the 200-job soak of docs/RELIABILITY.md, run as a user runs it: its own devnet (anvil
with a state file, a private redis-server, the content gateway, three hosts with workers and daemons, the
keeper), every kind of fault injected at least once while jobs stream in, and the end-state checks
(nothing lost, nothing claimed twice, nobody honest slashed, tokens conserved, ledgers agree with the
chain) judged by the script. Its JSON verdict is asserted here, not re-derived.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"
FAULTS = {"chain", "broker", "content", "daemon", "worker", "drop-tx"}


# A whole devnet and a minute or two of chaos: on a loaded 2-core machine it may take several minutes.
@pytest.mark.timeout(900)
def test_twenty_jobs_under_chaos_end_clean(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    args = ["--jobs", "20", "--chaos", "--seed", "7", "--rate", "60", "--fault-every", "3"]
    # Its own session: whatever happens here, the devnet it started goes down with it.
    soak = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args, "--drain-timeout", "240", "--json", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = soak.communicate(timeout=840)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(soak.pid, signal.SIGKILL)
    lines = stdout.strip().splitlines()
    assert lines, f"no verdict; stderr tail: {stderr[-3000:]}"
    verdict = json.loads(lines[-1])
    assert verdict["soak"] == "ok", (verdict["violations"], verdict, stderr[-3000:])
    assert soak.returncode == 0
    assert verdict["jobs"] == 20 and verdict["lost"] == 0
    assert verdict["settled"] + verdict["failed"] + verdict["expired"] == verdict["jobs_on_chain"] >= 20
    assert verdict["claimed_twice"] == 0 and verdict["honest_slashed"] == 0
    assert verdict["tokens_conserved"] is True and verdict["ledgers_agree"] is True
    assert set(verdict["faults"]) == FAULTS, "every kind of fault was injected"
    assert verdict["faults_injected"] >= len(FAULTS)
    report = json.loads(out.read_text())
    assert len(report["fault_log"]) >= len(FAULTS) and report["rss_samples"]
