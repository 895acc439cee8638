"""`neurolink job preflight`: a requester runs a spec through exactly a provider's vetting and sandbox.

It lives with the provider's code (it *is* the provider's execution path) and plugs into the
requester's `job` group through the `neurolink.subcommands` entry points.
"""

import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from neurolink.cli.output import JsonOption, emit
from neurolink.errors import ExitCode, NeuroLinkError


class PreflightError(NeuroLinkError):
    """A provider would refuse or fail this job; `error_class` names the provider-side error."""

    def __init__(self, error_class: str, message: str, exit_code: ExitCode) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.exit_code = exit_code


# Failures that do not depend on the machine: the spec or its inputs are the cause.
_INPUT_FAULTS = {
    "InvalidJob",
    "MissingInput",
    "InputTooLarge",
    "UnsafeInput",
    "WorkloadFailed",
    "OutputTooLarge",
}


def run_preflight(spec_path: Path, runs: int) -> dict[str, Any]:
    """Vet and run the spec `runs` times on workers of a throw-away home; report what providers see."""
    from neurolink.config import load_settings
    from neurolink.content import cid_to_digest
    from neurolink.content.local import LocalStore
    from neurolink.errors import VettingError
    from neurolink.specfile import read_spec
    from node.daemon.dispatcher import stage_inputs
    from node.worker.dispatch import Dispatcher
    from node.worker.errors import ERRORS_BY_CODE, ExecutionError
    from node.worker.pool import WorkerPool

    draft = read_spec(spec_path)
    try:
        # The static checks first: a refusal needs no worker.
        draft.vet()
    except VettingError as exc:
        raise PreflightError(ERRORS_BY_CODE[exc.code].__name__, str(exc), exc.exit_code) from exc
    with tempfile.TemporaryDirectory(prefix="neurolink-preflight-") as tmp:
        settings = load_settings(home=Path(tmp), broker_url="sqlite", result_backend="sqlite")
        store = LocalStore(settings.content_dir)
        spec = draft.upload(store)
        missing = sorted(n for n, cid in spec.inputs.items() if not store.has(cid))
        if missing:
            raise PreflightError(
                "MissingInput",
                f"input {missing[0]!r} is a CID; preflight needs it as a file",
                ExitCode.NOT_FOUND,
            )
        results = []
        with WorkerPool(settings, slots=spec.requirements.gpu_count, gpus=0) as pool:
            pool.start()
            pool.wait_ready(timeout=300)
            dispatcher = Dispatcher(settings)
            for attempt in range(runs):
                job_id = f"preflight-{attempt}"
                started = time.perf_counter()
                try:
                    staged = stage_inputs(store, spec, dispatcher.jobs_dir / job_id / "inputs")
                    result = dispatcher.run(job_id, spec, staged)
                except ExecutionError as exc:
                    code = ExitCode.INVALID_INPUT if exc.code in _INPUT_FAULTS else exc.exit_code
                    raise PreflightError(type(exc).__name__, str(exc), code) from exc
                wall = time.perf_counter() - started
                cid = store.put_file(result.result_path)
                results.append((cid, wall, result))
    cid, _, first = results[0]
    return {
        "ok": True,
        "result_cid": cid,
        "digest": "0x" + cid_to_digest(cid).hex(),
        "media_type": first.media_type,
        "size": first.size,
        "runs": runs,
        "identical": len({c for c, _, _ in results}) == 1,
        "wall_s": [round(w, 4) for _, w, _ in results],
        "peak_rss_bytes": max(r.peak_rss_bytes for _, _, r in results),
        "sandboxed": all(r.sandboxed for _, _, r in results),
    }


def preflight(
    spec: Path = typer.Argument(..., help="Job spec JSON; inputs as files relative to it."),
    runs: int = typer.Option(2, "--runs", min=1, max=10, help="Run it this many times and compare bytes."),
    as_json: bool = JsonOption,
) -> None:
    """Run SPEC locally through a provider's vetting and sandbox: refusals exit 3 before you pay."""
    try:
        report = run_preflight(spec, runs)
    except NeuroLinkError as exc:
        error_class = getattr(exc, "error_class", type(exc).__name__)
        message = str(exc).removeprefix(f"{error_class}: ")
        emit({"ok": False, "error": {"class": error_class, "message": message}}, as_json, f"refused: {exc}")
        raise typer.Exit(int(exc.exit_code)) from exc
    text = "\n".join(
        [
            f"result   {report['result_cid']}",
            f"digest   {report['digest']}",
            f"runs     {report['runs']} ({'identical bytes' if report['identical'] else 'BYTES DIFFER'})",
            f"wall     {', '.join(f'{w:.3f}s' for w in report['wall_s'])}",
            f"memory   {report['peak_rss_bytes'] / 2**20:.1f} MiB peak",
            f"sandbox  {'yes' if report['sandboxed'] else 'NO (bubblewrap missing)'}",
        ]
    )
    emit(report, as_json, text)
    if not report["identical"]:
        raise typer.Exit(int(ExitCode.INTEGRITY))
