"""Benchmark reports: where the figures come from (commit, date, machine, command) and their raw JSON."""

import datetime
import json
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from neurolink import machine


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def repo_root() -> Path:
    """The git work tree of the running script (the current directory when it is in none)."""
    here = Path(sys.argv[0]).resolve().parent if sys.argv[0] else Path.cwd()
    top = _git(here, "rev-parse", "--show-toplevel")
    return Path(top) if top else Path.cwd()


def summary(samples: Iterable[float], *, scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    """Median, min and max of `samples` (each times `scale`), and how many there were."""
    values = sorted(s * scale for s in samples)
    if not values:
        raise ValueError("no samples")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(values[0], digits),
        "max": round(values[-1], digits),
        "n": len(values),
    }


class BenchRun:
    """One run of a benchmark script: made at its start, `save`d at its end to docs/bench/<name>.json.

    The report carries the commit (and whether the work tree had uncommitted changes), the start
    date, the exact command, the machine (with its load at the start and at the end: the machine is
    shared, so a figure is read against it) and the run's wall time, then the script's results.
    """

    def __init__(self, name: str, *, root: Path | None = None) -> None:
        self.name = name
        self.root = root or repo_root()
        self.started = datetime.datetime.now(datetime.UTC)
        self._t0 = time.monotonic()
        self.machine = machine.describe()

    @property
    def path(self) -> Path:
        return self.root / "docs" / "bench" / f"{self.name}.json"

    def provenance(self) -> dict[str, Any]:
        script = Path(sys.argv[0]).resolve()
        shown = script.relative_to(self.root) if script.is_relative_to(self.root) else script
        end_load = machine.describe()["load_1m"]
        return {
            "bench": self.name,
            "commit": _git(self.root, "rev-parse", "HEAD"),
            # Results written by earlier benchmark runs are not changes to what is measured.
            "uncommitted_changes": bool(
                _git(self.root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/bench")
            ),
            "date": self.started.isoformat(timespec="seconds"),
            "command": shlex.join(["python", str(shown), *sys.argv[1:]]),
            "machine": {**self.machine, "load_1m_at_end": end_load},
            "wall_s": round(time.monotonic() - self._t0, 1),
        }

    def save(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """Write provenance and `results` as one JSON object to `path`; returns that object."""
        report = {**self.provenance(), **results}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(report, indent=2) + "\n")
        return report
