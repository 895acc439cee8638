"""The sandbox alone contains a job that runs code: real workers, vetting off, attacks from inside.

`code_running_program` is the real attack: torch 2.13's deserializer hands `expr_str` to sympy, which
evaluates it, so loading the archive runs the payload as the job process. The workers of this
module run with the test-only switch that skips .pt2 vetting, so only the sandbox stands between
the payload and the node.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neurolink.config import Settings, load_settings
from neurolink.pt2 import UnsafeProgramError, check_archive
from neurolink.spec import JobSpec, Limits, Requirements
from node.worker.device import ENV_UNSAFE_NO_VETTING
from node.worker.dispatch import Dispatcher, JobResult
from node.worker.errors import JobTimeoutError, UnsafeInputError, WorkloadError
from node.worker.pool import WorkerPool
from node.worker.samples import code_running_program, inference_job

SECRET = "0xSECRET-key-material"
REPORT = "SANDBOX-REPORT "


@dataclass(frozen=True)
class UnvettedNode:
    settings: Settings
    dispatcher: Dispatcher
    keystore: Path
    password_file: Path
    worker_pids: tuple[int, ...]


@pytest.fixture(scope="module")
def unvetted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnvettedNode]:
    home = tmp_path_factory.mktemp("sandbox-node")
    keystore = home / "keystore" / "UTC--key.json"
    keystore.parent.mkdir()
    keystore.write_text(json.dumps({"crypto": SECRET}))
    password_file = home / "password.txt"
    password_file.write_text(SECRET)
    (home / "config.toml").write_text("log_json = false\n")
    settings = load_settings(home=home, broker_url="sqlite", result_backend="sqlite", sandbox="required")
    # A node operator's shell as it often is: the password in the environment of the daemon.
    os.environ["NEUROLINK_PASSWORD"] = SECRET
    try:
        pool = WorkerPool(settings, slots=2, extra_env={ENV_UNSAFE_NO_VETTING: "1"})
        devices = pool.start()
    finally:
        del os.environ["NEUROLINK_PASSWORD"]
    try:
        pool.wait_ready(timeout=120)
        pids = tuple(d.pid for d in devices)
        yield UnvettedNode(settings, Dispatcher(settings), keystore, password_file, pids)
    finally:
        pool.stop()


def _run(node: UnvettedNode, script: str, runtime_s: int = 60, devices: int = 1) -> JobResult:
    sample = inference_job(devices=devices)
    spec = sample.spec.model_copy(
        update={"requirements": Requirements(gpu_count=devices, max_runtime_s=runtime_s)}
    )
    inputs = {"model": code_running_program(script), "batch": sample.inputs["batch"]}
    return node.dispatcher.run(f"evil-{uuid.uuid4().hex[:10]}", spec, inputs)


def _report(node: UnvettedNode, script: str) -> dict[str, Any]:
    """Run `script` as the payload; what it found comes back through its stderr (the worker's log)."""
    tag = f"{REPORT}{uuid.uuid4().hex} "
    with pytest.raises(WorkloadError):
        # torch wraps whatever the payload raises; the job fails after the payload ran.
        _run(node, script + f"\nimport sys\nprint({tag!r} + json.dumps(r), file=sys.stderr, flush=True)\n")
    for log in (node.settings.home / "logs").glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(tag):
                report: dict[str, Any] = json.loads(line[len(tag) :])
                return report
    raise AssertionError("the payload did not run (no report in the worker logs)")


def test_vetting_refuses_the_archive_naming_the_field() -> None:
    evil = code_running_program("import os; os.system('true')")
    with pytest.raises(UnsafeProgramError, match="expr_str"):
        check_archive(evil, 1 << 26)


def test_vetting_refuses_it_in_a_real_worker(tmp_path: Path) -> None:
    # The default workers (vetting on) refuse the archive before torch reads it.
    settings = load_settings(home=tmp_path, broker_url="sqlite", result_backend="sqlite")
    sample = inference_job()
    marker = tmp_path / "ran"
    inputs = {"model": code_running_program(f"open({str(marker)!r}, 'w')"), "batch": sample.inputs["batch"]}
    with WorkerPool(settings, slots=1) as pool:
        pool.start()
        pool.wait_ready(timeout=120)
        with pytest.raises(UnsafeInputError, match="expr_str"):
            Dispatcher(settings).run("vetted-evil", sample.spec, inputs)
    assert not marker.exists()


def test_payload_runs_but_reaches_nothing_of_the_node(unvetted: UnvettedNode, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    script = f"""
import json, os, socket
r = {{}}
try:
    open({str(marker)!r}, "w").write("pwned")
    r["marker"] = "written"
except OSError as exc:
    r["marker"] = type(exc).__name__
secrets = {{"keystore": {str(unvetted.keystore)!r}, "password_file": {str(unvetted.password_file)!r}}}
secrets["config"] = {str(unvetted.settings.home / "config.toml")!r}
for key, path in secrets.items():
    try:
        r[key] = open(path).read()
    except OSError as exc:
        r[key] = "denied: " + type(exc).__name__
r["env"] = sorted(os.environ)
r["environ_values"] = "\\n".join(os.environ.values())
try:
    socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    r["redis"] = "connected"
except OSError as exc:
    r["redis"] = "refused: " + type(exc).__name__
r["uid"] = os.getuid()
r["home_listing"] = os.path.exists({str(unvetted.settings.home)!r})
"""
    report = _report(unvetted, script)
    assert report["marker"] != "written" and not marker.exists()
    for key in ("keystore", "password_file", "config"):
        assert report[key].startswith("denied"), f"the job read the {key}: {report[key]!r}"
    assert not [name for name in report["env"] if name.startswith("NEUROLINK")], report["env"]
    assert SECRET not in report["environ_values"]
    assert report["redis"].startswith("refused"), "the job reached Redis on the host's loopback"
    assert report["uid"] == 65534
    assert report["home_listing"] is False


def _in_background(
    node: UnvettedNode, script: str, runtime_s: int
) -> tuple[threading.Thread, list[BaseException]]:
    """Run the payload job in a thread; its error (every payload job fails) lands in the list."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            _run(node, script, runtime_s=runtime_s)
        except BaseException as exc:  # handed to the test through `errors`
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _host_processes_with(needle: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_workers_start_without_the_password(unvetted: UnvettedNode) -> None:
    for pid in unvetted.worker_pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith(b"NEUROLINK_PASSWORD=")]
        assert SECRET.encode() not in b"\0".join(environ)


def test_a_child_that_outlives_the_deadline_is_killed(unvetted: UnvettedNode) -> None:
    needle = f"98{uuid.uuid4().int % 10_000}.5"
    script = f"import os, time\nos.system('sleep {needle} &')\ntime.sleep(120)\n"
    seen: list[int] = []
    thread, errors = _in_background(unvetted, script, runtime_s=4)
    while thread.is_alive():
        seen += _host_processes_with(needle.encode())
        time.sleep(0.1)
    thread.join()
    assert seen, "the payload's background child never started"
    assert len(errors) == 1 and isinstance(errors[0], JobTimeoutError), errors
    time.sleep(0.2)
    assert _host_processes_with(needle.encode()) == []


def test_two_ranks_rendezvous_in_the_sandbox_and_match_one_rank(unvetted: UnvettedNode) -> None:
    sample = inference_job(devices=2)
    two = unvetted.dispatcher.run(f"two-{uuid.uuid4().hex[:8]}", sample.spec, sample.inputs)
    one_sample = inference_job(devices=1)
    one = unvetted.dispatcher.run(f"one-{uuid.uuid4().hex[:8]}", one_sample.spec, one_sample.inputs)
    assert two.sandboxed and one.sandboxed
    assert two.read_bytes() == one.read_bytes()


def test_an_oversize_input_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """The daemon streams inputs from the store; one over the spec's limit is refused unread."""
    from neurolink.content.local import LocalStore

    size = 96 * 1024 * 1024
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    cid = LocalStore(tmp_path / "content").put_file(big)
    big.unlink()
    spec = JobSpec.model_validate(
        {
            **json.loads(inference_job().spec.canonical_json()),
            "inputs": {"model": cid, "batch": cid},
            "limits": Limits(max_input_bytes=1024 * 1024).model_dump(),
        }
    )
    code = f"""
import json, resource, sys
from pathlib import Path
from neurolink.content.local import LocalStore
from neurolink.spec import JobSpec
from node.daemon.dispatcher import stage_inputs
from node.worker.errors import InputTooLargeError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store = LocalStore(Path({str(tmp_path / "content")!r}))
try:
    stage_inputs(store, JobSpec.from_json(sys.stdin.read()), Path({str(tmp_path / "staged")!r}))
    outcome = "staged"
except InputTooLargeError as exc:
    outcome = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"outcome": outcome, "grew_kib": after - before}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=spec.canonical_json().decode(),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert "over the limit of 1048576" in result["outcome"]
    # Flat: the peak grew by far less than the input's size (the old path read it all into memory).
    assert result["grew_kib"] * 1024 < size // 8, result
    assert not any((tmp_path / "staged").iterdir())


def test_another_jobs_listener_is_unreachable(unvetted: UnvettedNode) -> None:
    """Two jobs on two devices at once: one listens on loopback, the other cannot connect to it."""
    port = 20_000 + uuid.uuid4().int % 20_000
    ready = f"LISTENING-{uuid.uuid4().hex}"
    listener = f"""
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", {port}))
server.listen()
print({ready!r}, file=sys.stderr, flush=True)
time.sleep(20)
"""
    thread, _ = _in_background(unvetted, listener, runtime_s=8)
    deadline = time.monotonic() + 60
    logs = list((unvetted.settings.home / "logs").glob("*.log"))
    while not any(ready in log.read_text(errors="replace") for log in logs):
        assert time.monotonic() < deadline, "the listening job never started"
        time.sleep(0.1)
    script = f"""
import json, socket
r = {{}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    r["connect"] = "connected"
except OSError as exc:
    r["connect"] = "refused: " + type(exc).__name__
"""
    report = _report(unvetted, script)
    thread.join()
    assert report["connect"].startswith("refused"), "a job reached another job's socket"
