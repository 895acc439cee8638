"""Tolerant verification measured: honest variation across emulated devices, cheats, cost, capture odds.

    .venv/bin/python scripts/bench_verification.py [--seeds 125] [--json]

Every seed makes one inference and one training job (node.worker.samples.verification_jobs). Each
job runs, in this process through the workloads the job process runs, as every honest emulated
device class (none, split-k, threads, batch-order), as the tf32 class (reported on its own: see
docs/VERIFICATION.md), and as every compute cheat; each result file is fingerprinted under a seed of
its own. An honest result is falsely rejected when it lies farther than the tolerance from another
honest result of its job; a cheat is detected when it lies farther than the tolerance from every
honest result. The escalation protocol's capture odds are simulated (Monte Carlo) and computed in
closed form. Prints one JSON object and writes it, with the commit, date and machine, to
docs/bench/verification.json.
"""

import argparse
import hashlib
import json
import math
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_sandbox import provenance

from neurolink.verification.emulation import Emulation, active
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE, DEFAULT_WIDTH, fingerprint_file, hamming
from node.worker.cheats import Cheat
from node.worker.context import RankContext
from node.worker.samples import SampleJob, verification_jobs
from node.worker.workloads import run_workload

ROOT = Path(__file__).resolve().parent.parent
HONEST = (Emulation.NONE, Emulation.SPLIT_K, Emulation.THREADS, Emulation.BATCH_ORDER)
CHEATS = tuple(c for c in Cheat if c is not Cheat.NONE)
FORGED = "forged-fingerprint"


def run_job(job: SampleJob, folder: Path, emulation: Emulation, cheat: Cheat) -> tuple[Path, float]:
    """Run `job` as the job process would (deterministic, one thread as a CPU slot here); the result
    file and the compute seconds."""
    paths = {}
    for name, data in job.inputs.items():
        paths[name] = folder / f"input-{name}"
        paths[name].write_bytes(data)
    ctx = RankContext(
        spec=job.spec,
        rank=0,
        world_size=1,
        device=torch.device("cpu"),
        inputs=paths,
        emulation=emulation,
        cheat=cheat,
    )
    torch.manual_seed(job.spec.seed)
    started = time.perf_counter()
    with active(emulation):
        outcome = run_workload(ctx)
    seconds = time.perf_counter() - started
    assert outcome.data is not None
    result = folder / f"{emulation.value}-{cheat.value}.safetensors"
    result.write_bytes(outcome.data)
    return result, seconds


def relative_error(a: Path, b: Path) -> float:
    from safetensors.numpy import load_file

    x, y = load_file(str(a)), load_file(str(b))
    u = np.concatenate([x[k].ravel().astype(np.float64) for k in sorted(x)])
    v = np.concatenate([y[k].ravel().astype(np.float64) for k in sorted(y)])
    if not np.isfinite(v).all():
        return math.inf
    return float(np.linalg.norm(u - v) / np.linalg.norm(u))


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"min": ordered[0], "median": statistics.median(ordered), "max": ordered[-1], "n": len(ordered)}


def histogram(values: list[int]) -> dict[str, int]:
    counts: dict[int, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return {str(k): counts[k] for k in sorted(counts)}


def measure(seeds: int, width: float, tolerance: int) -> dict[str, Any]:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    honest_pairs: list[int] = []
    honest_to_reference: dict[str, list[int]] = defaultdict(list)
    rel: dict[str, list[float]] = defaultdict(list)
    to_honest: dict[str, list[int]] = defaultdict(list)
    false_rejections = 0
    honest_results = 0
    compute_s: dict[str, float] = defaultdict(float)
    fingerprint_s: dict[str, float] = defaultdict(float)
    for seed in range(seeds):
        for job in verification_jobs(seed):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                fp_seed = hashlib.sha256(f"job-{seed}-{job.name}".encode()).digest()
                prints: dict[str, bytes] = {}
                files: dict[str, Path] = {}
                for emulation in (*HONEST, Emulation.TF32):
                    files[emulation.value], seconds = run_job(job, folder, emulation, Cheat.NONE)
                    started = time.perf_counter()
                    prints[emulation.value] = fingerprint_file(files[emulation.value], fp_seed, width=width)
                    if emulation is Emulation.NONE:
                        fingerprint_s[job.name] += time.perf_counter() - started
                        compute_s[job.name] += seconds
                for cheat in CHEATS:
                    files[cheat.value], _ = run_job(job, folder, Emulation.NONE, cheat)
                    prints[cheat.value] = fingerprint_file(files[cheat.value], fp_seed, width=width)
                prints[FORGED] = secrets.token_bytes(32)
                honest = [prints[e.value] for e in HONEST]
                for i, a in enumerate(honest):
                    distances = [hamming(a, b) for j, b in enumerate(honest) if j != i]
                    honest_results += 1
                    false_rejections += max(distances) > tolerance
                    honest_pairs.extend(d for j, d in enumerate(distances) if j + (j >= i) > i)
                reference = files[Emulation.NONE.value]
                for other in (*HONEST[1:], Emulation.TF32):
                    honest_to_reference[other.value].append(hamming(honest[0], prints[other.value]))
                    rel[f"{job.name}.{other.value}"].append(relative_error(reference, files[other.value]))
                for name in (*(c.value for c in CHEATS), FORGED, Emulation.TF32.value):
                    to_honest[f"{job.name}.{name}"].append(min(hamming(prints[name], h) for h in honest))
                    if name in files and name != Emulation.TF32.value:
                        rel[f"{job.name}.{name}"].append(relative_error(reference, files[name]))
    detection = {}
    for name in (*(c.value for c in CHEATS), FORGED):
        caught = [d > tolerance for job in ("inference", "train") for d in to_honest[f"{job}.{name}"]]
        detection[name] = sum(caught) / len(caught)
    tf32 = [d > tolerance for job in ("inference", "train") for d in to_honest[f"{job}.tf32"]]
    overhead = {job: fingerprint_s[job] / compute_s[job] for job in compute_s}
    return {
        "jobs": seeds * 2,
        "honest_classes": [e.value for e in HONEST],
        "honest_results": honest_results,
        "false_rejections": false_rejections,
        "detection_rate": detection,
        "tf32_rejected_rate": sum(tf32) / len(tf32),
        "width": width,
        "tolerance_bits": tolerance,
        "honest_pairwise_hamming": {"histogram": histogram(honest_pairs), "max": max(honest_pairs)},
        "honest_to_reference_hamming": {
            k: summary([float(x) for x in v]) for k, v in honest_to_reference.items()
        },
        "cheat_min_hamming_to_honest": {
            k: summary([float(x) for x in v]) for k, v in sorted(to_honest.items())
        },
        "relative_l2_error": {k: summary(v) for k, v in sorted(rel.items())},
        "fingerprint_overhead": sum(fingerprint_s.values()) / sum(compute_s.values()),
        "fingerprint_overhead_by_job": overhead,
        "compute_s_median_job": {job: compute_s[job] / seeds for job in compute_s},
    }


def capture_closed_form(f: float, k: int) -> float:
    """P(wrong result finalized): all k first-round slots, or a strict majority of 2k + 1 fresh ones
    after any disagreement (an attacker holding some but not all of round 1 forces the re-run)."""
    round2 = sum(math.comb(2 * k + 1, i) * f**i * (1 - f) ** (2 * k + 1 - i) for i in range(k + 1, 2 * k + 2))
    mixed = 1 - f**k - (1 - f) ** k
    return f**k + mixed * round2


def plain_majority(f: float, k: int) -> float:
    """Today's rule: a strict majority of k slots decides."""
    return sum(math.comb(k, i) * f**i * (1 - f) ** (k - i) for i in range(k // 2 + 1, k + 1))


def simulate(f: float, k: int, trials: int, rng: np.random.Generator) -> float:
    """Monte Carlo of the escalation protocol; a slot is the attacker's with probability f (stake share)."""
    first = rng.binomial(k, f, size=trials)
    second = rng.binomial(2 * k + 1, f, size=trials)
    captured = (first == k) | ((first > 0) & (first < k) & (second >= k + 1))
    return float(captured.mean())


def round2_size_for(goal: float, f: float, k: int) -> int:
    """The smallest odd second round that keeps capture at or under `goal` (closed form)."""
    size = 2 * k + 1
    while f**k + (1 - f**k - (1 - f) ** k) * plain_majority(f, size) > goal:
        size += 2
    return size


def escalation(trials: int) -> dict[str, Any]:
    rng = np.random.default_rng(12)
    table = []
    for k in (3, 5):
        for f in (0.1, 0.2, 0.33):
            table.append(
                {
                    "f": f,
                    "k": k,
                    "simulated": simulate(f, k, trials, rng),
                    "closed_form": capture_closed_form(f, k),
                    "plain_majority": plain_majority(f, k),
                }
            )
    return {"trials": trials, "table": table, "round2_size_for_1pct_f20_k3": round2_size_for(0.01, 0.2, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeds", type=int, default=125, help="seeds; each makes an inference and a training job"
    )
    parser.add_argument("--width", type=float, default=DEFAULT_WIDTH)
    parser.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE)
    parser.add_argument("--trials", type=int, default=1_000_000, help="Monte Carlo trials per (f, k)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "verification.json")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = measure(args.seeds, args.width, args.tolerance)
    capture = escalation(args.trials)
    f20k3 = next(row for row in capture["table"] if row["f"] == 0.2 and row["k"] == 3)
    result = {
        **provenance(),
        "command": "python scripts/bench_verification.py " + " ".join(sys.argv[1:]),
        **figures,
        "wrong_finalized_rate_f20_k3": f20k3["simulated"],
        "escalation": capture,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(result, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        print(text)


if __name__ == "__main__":
    main()
