"""Content store throughput: add and get of one file on LocalStore and on KuboStore (js-ipfs daemon).

    .venv/bin/python scripts/bench_content.py [--size-mb 100] [--runs 3] [--kubo-url URL]

Without --kubo-url a js-ipfs daemon (`make ipfs`) is started offline in a temporary repository.
Prints a markdown table (median MB/s over the runs) and one JSON line, which it also writes (with
the commit, date and machine) to docs/bench/content.json.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neurolink.bench import BenchRun, summary
from neurolink.content import ContentStore, KuboStore, LocalStore
from neurolink.content.testing import jsipfs_daemon

MB = 1_000_000


def write_file(path: Path, size: int) -> None:
    """Incompressible, non-repeating content, written in 1 MiB pieces."""
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            piece = os.urandom(min(remaining, 1 << 20))
            out.write(piece)
            remaining -= len(piece)


@contextmanager
def kubo_url(given: str | None, workdir: Path) -> Iterator[str]:
    if given:
        yield given
        return
    with jsipfs_daemon(workdir / "ipfs-repo") as daemon:
        yield daemon.api_url


def daemon_version(url: str) -> str:
    """What the RPC API says it is: "<agent> <version>" (js-ipfs and Kubo both answer /version)."""
    request = urllib.request.Request(f"{url}/api/v0/version", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    return f"{answer.get('Agent', answer.get('System', 'ipfs'))} {answer['Version']}".strip()


def bench(store: ContentStore, workdir: Path, size: int, runs: int) -> dict[str, Any]:
    """Each run adds fresh content (no deduplication) and fetches it back, both timed."""
    source, out = workdir / "input.bin", workdir / "output.bin"
    adds, gets = [], []
    for _ in range(runs):
        write_file(source, size)
        start = time.perf_counter()
        cid = store.put_file(source)
        adds.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.get_file(cid, out)
        gets.append(time.perf_counter() - start)
        if out.stat().st_size != size:
            raise SystemExit(f"{store}: fetched {out.stat().st_size} bytes, expected {size}")
    return {
        "add_mb_s": round(size / MB / statistics.median(adds), 1),
        "get_mb_s": round(size / MB / statistics.median(gets), 1),
        "add_s": summary(adds),
        "get_s": summary(gets),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kubo-url", help="an existing daemon's RPC API instead of a fresh js-ipfs")
    args = parser.parse_args()
    run = BenchRun("content")
    with tempfile.TemporaryDirectory(prefix="bench-content-") as tmp:
        workdir = Path(tmp)
        size = args.size_mb * MB
        results = {"LocalStore": bench(LocalStore(workdir / "local"), workdir, size, args.runs)}
        with kubo_url(args.kubo_url, workdir) as url, KuboStore(url, timeout=120) as kubo:
            where = "a fresh offline daemon" if args.kubo_url is None else url
            name = f"KuboStore ({daemon_version(url)}, {where})"
            results[name] = bench(kubo, workdir, size, args.runs)
    print(f"| backend ({args.size_mb} MB file, median of {args.runs}) | add MB/s | get MB/s |")
    print("|---|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['add_mb_s']:.1f} | {r['get_mb_s']:.1f} |")
    print(json.dumps(run.save({"size_mb": args.size_mb, "runs": args.runs, "results": results})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
