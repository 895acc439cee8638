"""Content store throughput: add and get of one file on LocalStore and on KuboStore (js-ipfs daemon).

    .venv/bin/python scripts/bench_content.py [--size-mb 100] [--runs 3] [--kubo-url URL]

Without --kubo-url a js-ipfs daemon (`make ipfs`) is started offline in a temporary repository.
Prints a markdown table (median MB/s over the runs) and one JSON line.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def bench(store: ContentStore, workdir: Path, size: int, runs: int) -> dict[str, float]:
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
        "add_mb_s": size / MB / statistics.median(adds),
        "get_mb_s": size / MB / statistics.median(gets),
        "add_s": statistics.median(adds),
        "get_s": statistics.median(gets),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kubo-url", help="an existing daemon's RPC API instead of a fresh js-ipfs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-content-") as tmp:
        workdir = Path(tmp)
        size = args.size_mb * MB
        results = {"LocalStore": bench(LocalStore(workdir / "local"), workdir, size, args.runs)}
        with kubo_url(args.kubo_url, workdir) as url, KuboStore(url, timeout=120) as kubo:
            name = "KuboStore (js-ipfs 0.66)" if args.kubo_url is None else f"KuboStore ({url})"
            results[name] = bench(kubo, workdir, size, args.runs)
    print(f"| backend ({args.size_mb} MB file, median of {args.runs}) | add MB/s | get MB/s |")
    print("|---|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['add_mb_s']:.1f} | {r['get_mb_s']:.1f} |")
    print(json.dumps({"size_mb": args.size_mb, "runs": args.runs, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
