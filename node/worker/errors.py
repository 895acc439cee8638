"""Errors of job execution; a worker reports them by `code`, the dispatcher raises the class."""

from typing import Any

from neurolink.errors import ExitCode, NeuroLinkError


def failure_reply(code: str, message: str) -> dict[str, Any]:
    """How a job process, the zygote and the task report a failure: a value, never an exception."""
    return {"ok": False, "error": {"code": code, "message": message}}


class ExecutionError(NeuroLinkError):
    """Root of execution failures; `code` is how a worker names it in a task result."""

    code = "ExecutionFailed"


class InvalidJobError(ExecutionError):
    """The job id, its inputs or their content cannot be run."""

    code = "InvalidJob"
    exit_code = ExitCode.INVALID_INPUT


class MissingInputError(InvalidJobError):
    """An input the spec names was not supplied, or its file is gone."""

    code = "MissingInput"
    exit_code = ExitCode.NOT_FOUND


class InputTooLargeError(InvalidJobError):
    """An input exceeds the spec's `limits.max_input_bytes`."""

    code = "InputTooLarge"


class UnsafeInputError(InvalidJobError):
    """An input could run code when loaded (a pickle in a .pt2 archive, a disallowed operator)."""

    code = "UnsafeInput"


class OutputTooLargeError(ExecutionError):
    """The result exceeds the spec's `limits.max_output_bytes`."""

    code = "OutputTooLarge"


class OutOfMemoryError(ExecutionError):
    """The job ran out of device or host memory (or its memory limit)."""

    code = "OutOfMemory"


class JobTimeoutError(ExecutionError):
    """The job ran past its deadline; its process was killed and the device freed."""

    code = "Timeout"
    exit_code = ExitCode.TIMEOUT


class NoReplyError(ExecutionError):
    """A rank's reply never came back (a restarted broker, a lost worker): an outage, retried."""

    code = "NoReply"
    exit_code = ExitCode.UNAVAILABLE


class DevicesUnavailableError(ExecutionError):
    """Not enough free devices (or none registered) to start every rank of the job."""

    code = "DevicesUnavailable"
    exit_code = ExitCode.UNAVAILABLE


class WorkerCrashedError(ExecutionError):
    """The job's process died without reporting (killed by a signal, a native crash)."""

    code = "WorkerCrashed"


class SandboxUnavailableError(ExecutionError):
    """Job processes cannot be sandboxed here (no bubblewrap, no user namespaces) and must be."""

    code = "SandboxUnavailable"
    exit_code = ExitCode.UNAVAILABLE


class WorkloadError(ExecutionError):
    """The workload itself failed (e.g. shapes that do not fit the program)."""

    code = "WorkloadFailed"


ERRORS_BY_CODE: dict[str, type[ExecutionError]] = {
    cls.code: cls
    for cls in (
        ExecutionError,
        InvalidJobError,
        MissingInputError,
        InputTooLargeError,
        UnsafeInputError,
        OutputTooLargeError,
        OutOfMemoryError,
        JobTimeoutError,
        NoReplyError,
        DevicesUnavailableError,
        WorkerCrashedError,
        SandboxUnavailableError,
        WorkloadError,
    )
}
