"""Before a claim the node fetches every input: a withheld one is never claimed, an oversize one is."""

from pathlib import Path

import pytest

from neurolink.config import load_settings
from neurolink.content import cid_to_digest
from neurolink.content.local import LocalStore
from neurolink.protocol.params import Requirements
from neurolink.protocol.views import JobStatus
from neurolink.spec import JobSpec, Limits
from node.daemon.dispatcher import JobDispatcher, host_memory_bytes
from node.daemon.market import ChainJob
from node.worker.samples import inference_job, program_bytes, tensors_bytes

PROVIDER = "0x" + "ab" * 20


def _chain_job(spec_cid: str, spec: JobSpec) -> ChainJob:
    return ChainJob(
        job_id=7, requester="0x" + "cd" * 20, claim_deadline=0, commit_deadline=0, reveal_deadline=0,
        payment=90, collateral=30, replicas=spec.replicas, quorum=1, claimed=0, committed=0,
        revealed=0, status=JobStatus.OPEN, fee_bps=100, spec_digest=cid_to_digest(spec_cid),
        requirements=Requirements(gpu_count=spec.requirements.gpu_count, max_gpu_seconds=60),
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "home" / "content")


def _check(tmp_path: Path, store: LocalStore, **changes: object) -> str:
    spec = inference_job().spec.model_copy(update=changes)
    dispatcher = JobDispatcher(load_settings(home=tmp_path / "home"), PROVIDER, store=store)
    return dispatcher.check_spec(_chain_job(store.put_bytes(spec.canonical_json()), spec))


def test_a_job_whose_inputs_are_served_is_claimable(tmp_path: Path, store: LocalStore) -> None:
    inputs = {"model": store.put_bytes(program_bytes()), "batch": store.put_bytes(tensors_bytes())}
    assert _check(tmp_path, store, inputs=inputs) == ""
    assert not list((tmp_path / "home" / "jobs").iterdir()), "the pre-claim copy is removed"


def test_a_withheld_input_is_never_claimed(tmp_path: Path, store: LocalStore) -> None:
    # The requester computed the CID but never published the bytes.
    withheld = LocalStore(tmp_path / "requester-only").put_bytes(tensors_bytes(rows=3))
    reason = _check(tmp_path, store, inputs={"model": store.put_bytes(program_bytes()), "batch": withheld})
    assert reason.startswith("input not available, not claiming") and withheld in reason


def test_an_oversize_input_is_claimed_for_its_error_result(tmp_path: Path, store: LocalStore) -> None:
    inputs = {"model": store.put_bytes(program_bytes()), "batch": store.put_bytes(tensors_bytes(rows=4096))}
    limits = Limits(max_input_bytes=64 * 1024)
    assert _check(tmp_path, store, inputs=inputs, limits=limits) == ""


def test_more_memory_than_the_host_has_is_refused(tmp_path: Path, store: LocalStore) -> None:
    inputs = {"model": store.put_bytes(program_bytes()), "batch": store.put_bytes(tensors_bytes())}
    limits = Limits(max_memory_bytes=1024**4)
    assert host_memory_bytes() < 1024**4
    assert "bytes of memory, this host has" in _check(tmp_path, store, inputs=inputs, limits=limits)
