"""`make demo`, README's first command, ends well: both jobs settle, only the cheater is slashed, and
every token is where it should be.

It once failed unnoticed: the demo's cheater lied about its digest only (`--fault wrong-result`), and
once inference and training jobs became tolerant, a cheater with an honest fingerprint was grouped
with the honest and paid. Its cheater now returns wrong results (`--fault noise`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurolink.compiler.build import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def test_the_demo_settles_both_jobs_and_slashes_only_the_cheater(tmp_path: Path) -> None:
    # The demo makes a home of its own; the devnet pointer it records goes under the session's cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "demo.py")],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads(done.stdout.strip().splitlines()[-1])
    assert verdict == {
        "demo": "ok",
        "jobs_settled": 2,
        "providers_slashed": 1,
        "tokens_conserved": True,
        "explorer": verdict["explorer"],
    }
    assert "provider 2 will cheat" in done.stderr and "slashed" in done.stderr  # rich writes to stderr
