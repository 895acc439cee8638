"""The OS sandbox of job processes: the bubblewrap command line, the shared rank network, a probe.

A device worker starts one long-lived *zygote* (node/worker/zygote.py) inside bubblewrap; every
job rank is forked from it, so the sandbox costs its start-up once per worker, not per job. What
the zygote and its jobs see:

- their own user, pid, ipc, uts and cgroup namespaces, as uid/gid 65534 inside;
- a network namespace with only a loopback interface and nothing else: no broker, RPC, IPFS API
  or internet. A worker's own zygote has a private one; the ranks of a multi-device job each get a
  zygote of their own inside one network made for that job (a holder process the dispatcher
  starts owns it), so they rendezvous there and no other job can reach them;
- read-only: the system's /usr (and its /bin, /lib links), a few /etc files, the Python install
  and the project's packages; /tmp a small tmpfs; /proc of their own pid namespace; a minimal /dev
  (plus /dev/nvidia* on GPU workers);
- /job/in (the job's inputs, read-only) and /job/out (one fresh folder per attempt, writable);
- no $NEUROLINK_HOME (keystores, ledger, password files, config), no environment but the
  variables named in `zygote_command`.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from node.worker.errors import SandboxUnavailableError

if TYPE_CHECKING:
    from neurolink.config import Settings

log = logging.getLogger(__name__)

BWRAP = "bwrap"
NSENTER = "nsenter"
# Inside the sandbox: the job's view of its exchange folder, and the unprivileged ids it runs as.
JOB_ROOT = Path("/job")
SANDBOX_UID = 65534
TMP_BYTES = 256 * 1024 * 1024
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "hosts")
_MERGED_USR = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# What the sandbox cannot enforce on this kind of host, reported by the selftest.
_NOT_ENFORCED = [
    "GPU memory remanence and timing side channels (out of scope, docs/SECURITY.md)",
    "kernel and GPU driver vulnerabilities (namespaces share the kernel)",
]


@dataclass(frozen=True)
class SandboxStatus:
    """Whether job processes on this host run sandboxed, with what, and what is not enforced."""

    active: bool
    tool: str
    version: str
    reason: str = ""
    start_ms: float = 0.0
    enforced: list[str] = field(default_factory=list)
    not_enforced: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _MERGED_USR:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_binds(home: Path) -> list[str]:
    """The interpreter, its environment and the project's packages, read-only at their own paths."""
    import neurolink
    import node

    roots = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent}
    roots |= {Path(neurolink.__file__).resolve().parent, Path(node.__file__).resolve().parent}
    args: list[str] = []
    for root in sorted(roots):
        args += ["--ro-bind", str(root), str(root)]
    # A home that lives under a bound folder is hidden behind an empty tmpfs.
    if any(home.resolve().is_relative_to(root) for root in roots):
        args += ["--tmpfs", str(home.resolve())]
    return args


def zygote_argv() -> list[str]:
    """The zygote's command line: this interpreter, isolated (-I: no PYTHON* variables, no user site),
    importing the very packages this worker runs. A checkout on PYTHONPATH, which -I drops, would
    otherwise lose to whatever the interpreter finds by itself (another checkout's editable install)."""
    import neurolink
    import node

    roots = sorted({str(Path(str(m.__file__)).resolve().parent.parent) for m in (neurolink, node)})
    code = f"import sys; sys.path[:0] = {roots!r}; from node.worker.zygote import main; main()"
    return [sys.executable, "-I", "-c", code]


def _gpu_binds() -> list[str]:
    args: list[str] = []
    for dev in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind", str(dev), str(dev)]
    if args:
        args += ["--ro-bind-try", "/sys", "/sys"]
    return args


def zygote_command(
    *,
    home: Path,
    exchange: Path,
    env: dict[str, str],
    gpu: bool,
    net_holder: int | None,
    host_network: bool = False,
) -> list[str]:
    """The command that starts the zygote inside bubblewrap (`exchange` holds `in/` and `out/`).

    `host_network`: the job keeps the host's network, for a rank of a job spanning hosts (its peers are
    elsewhere); every other job gets a network of its own (`net_holder`'s, or a fresh empty one)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailableError(f"{BWRAP} is not installed")
    args = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    args += ["--hostname", "neurolink-job", "--die-with-parent", "--new-session"]
    if net_holder is None and not host_network:
        args.append("--unshare-net")
    args += _system_binds()
    args += _python_binds(home)
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    if gpu:
        args += _gpu_binds()
    args += ["--ro-bind", str(exchange / "in"), str(JOB_ROOT / "in")]
    args += ["--bind", str(exchange / "out"), str(JOB_ROOT / "out")]
    args += ["--clearenv", "--chdir", "/tmp"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    args += ["--", *zygote_argv()]
    if net_holder is None:
        return args
    # Join the pool's job network first (its user namespace owns it), then build the sandbox in it.
    return [NSENTER, "--preserve-credentials", "--user", "--net", f"--target={net_holder}", *args]


@dataclass
class NetHolder:
    """A process owning a loopback-only network namespace for the ranks of one job."""

    process: "subprocess.Popen[bytes]"
    pid: int

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def start_net_holder() -> NetHolder:
    """Create one job's network: loopback up, no other interface."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailableError(f"{BWRAP} is not installed")
    read_fd, write_fd = os.pipe()
    command = [bwrap, "--unshare-user", "--unshare-net", "--die-with-parent", *_system_binds()]
    command += ["--info-fd", str(write_fd), "--", "/usr/bin/sleep", "infinity"]
    process = subprocess.Popen(command, pass_fds=(write_fd,), stdin=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as info:
        raw = info.read()
    try:
        return NetHolder(process, int(json.loads(raw)["child-pid"]))
    except (ValueError, KeyError) as exc:
        process.kill()
        process.wait()
        raise SandboxUnavailableError(f"the job network could not be created: {raw!r}") from exc


def probe(home: Path | None = None) -> SandboxStatus:
    """Start a real sandbox with the zygote's options (minus Python) and report what it enforces."""
    bwrap = bwrap_path()
    if bwrap is None:
        return SandboxStatus(
            False, BWRAP, "", reason=f"{BWRAP} is not installed (apt-get install bubblewrap)"
        )
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, check=False)
    with tempfile.TemporaryDirectory(prefix="neurolink-probe-") as tmp:
        exchange = Path(tmp)
        (exchange / "in").mkdir()
        (exchange / "out").mkdir()
        command = zygote_command(
            home=home or Path(tmp) / "home", exchange=exchange, env={}, gpu=False, net_holder=None
        )
        command = [*command[: command.index("--")], "--", "/usr/bin/true"]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        hint = "; user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)"
        return SandboxStatus(False, BWRAP, version.stdout.strip(), reason=f"{BWRAP}: {reason}{hint}")
    return SandboxStatus(
        True,
        BWRAP,
        version.stdout.strip(),
        start_ms=round(elapsed, 2),
        enforced=[
            "own user (uid 65534), pid, ipc, uts namespaces",
            "loopback-only network",
            "read-only system and Python; inputs read-only; one writable output folder",
            "no NEUROLINK_HOME, empty environment",
            "deadline and memory limit kill every process of the job",
        ],
        not_enforced=list(_NOT_ENFORCED),
    )


def require_for_chain(settings: "Settings", chain_id: int) -> SandboxStatus:
    """The sandbox status; without a sandbox only devnet chain ids may take jobs (with a warning)."""
    from neurolink.chain.deployments import DEVNET_CHAIN_IDS

    if settings.sandbox == "off":
        status = SandboxStatus(False, BWRAP, "", reason='sandbox = "off" in the config')
    else:
        status = probe(settings.home)
    if status.active:
        return status
    if chain_id in DEVNET_CHAIN_IDS:
        log.warning("devnet chain %s: job processes run WITHOUT a sandbox (%s)", chain_id, status.reason)
        return status
    raise SandboxUnavailableError(
        f"refusing to take jobs on chain {chain_id} without a job sandbox: {status.reason}. "
        "Install bubblewrap (apt-get install bubblewrap), allow unprivileged user namespaces "
        '(sysctl kernel.unprivileged_userns_clone=1), set sandbox = "auto", then check with '
        "`neurolink node selftest`."
    )
