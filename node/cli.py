"""`neurolink node …`: run this machine's device workers and check them end to end."""

import signal
import tempfile
import time
from pathlib import Path
from types import FrameType

import typer

from neurolink.cli.output import JsonOption, emit

app = typer.Typer(help="Run a provider node: device workers, selftest.", no_args_is_help=True)


@app.command()
def workers(
    slots: int | None = typer.Option(None, help="CPU device slots when there is no GPU (default: config)."),
    loglevel: str = typer.Option("WARNING", help="Celery log level of each worker."),
    as_json: bool = JsonOption,
) -> None:
    """Start one Celery worker per GPU (or CPU slot) and keep them running until interrupted."""
    from neurolink.config import load_settings
    from node.worker.errors import DevicesUnavailableError
    from node.worker.pool import WorkerPool

    settings = load_settings()
    stop = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    with WorkerPool(settings, slots=slots) as pool:
        devices = pool.start(loglevel=loglevel)
        pool.wait_ready()
        emit(
            {"devices": [{"id": d.device_id, "queue": d.queue, "pid": d.pid} for d in devices]},
            as_json,
            "\n".join(f"{d.device_id}  queue {d.queue}  pid {d.pid}" for d in devices)
            + f"\n{len(devices)} workers ready; logs in {pool.log_dir}. Ctrl-C stops them.",
        )
        try:
            while not stop and all(p.poll() is None for p in pool.processes.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return
        dead = [queue for queue, p in pool.processes.items() if p.poll() is not None]
        if dead:
            raise DevicesUnavailableError(f"worker {dead[0]} exited; see {pool.log_dir / dead[0]}.log")


@app.command()
def selftest(
    slots: int = typer.Option(2, help="CPU device slots when there is no GPU."),
    as_json: bool = JsonOption,
) -> None:
    """Run a benchmark, an inference and a training job through real workers on this machine."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from neurolink.config import load_settings
    from node.worker.pool import WorkerPool
    from node.worker.selftest import run_selftest

    # Its own home and SQLite broker: the selftest never takes jobs from (or gives them to) a running node.
    with tempfile.TemporaryDirectory(prefix="neurolink-selftest-") as home:
        settings = load_settings(home=Path(home), broker_url="sqlite", result_backend="sqlite")
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=as_json
        ) as bar:
            bar.add_task("starting workers and running jobs…")
            with WorkerPool(settings, slots=slots) as pool:
                pool.start()
                pool.wait_ready()
                report = run_selftest(settings, devices=pool.slots)
    lines = [f"{len(report['jobs'])} jobs on {report['devices']} devices"]
    for name, job in report["jobs"].items():
        lines.append(
            f"{name:10} {job['sha256'][:16]}  reproducible={job['reproducible']}  "
            f"{job['seconds'][0]:.3f}s / {job['seconds'][1]:.3f}s"
        )
    emit(report, as_json, "\n".join(lines))
    if not report["ok"]:
        raise typer.Exit(1)
