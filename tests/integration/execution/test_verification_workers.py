"""Emulated devices and cheats through real Celery device workers: an emulated class changes the result
bytes but keeps the fingerprint within the default tolerance; every cheat falls outside it."""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from neurolink.config import load_settings
from neurolink.verification.emulation import ENV_EMULATE, Emulation
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE, fingerprint_file, hamming
from node.worker.cheats import ENV_CHEAT, Cheat
from node.worker.dispatch import Dispatcher
from node.worker.pool import WorkerPool
from node.worker.samples import verification_jobs

pytestmark = pytest.mark.integration
# One single-slot node per persona costs a Celery worker and a zygote each, so the real-worker test
# takes one emulated class and the two cheats nearest to honest results (fp16: ~50 bits, noise); every
# class and cheat is measured in-process by tests/unit/test_verification_workloads.py and
# scripts/bench_verification.py.
HONEST = (Emulation.NONE, Emulation.BATCH_ORDER)
CHEATS = (Cheat.DOWNCAST_FP16, Cheat.NOISE)
JOBS = verification_jobs(seed=5)
SEED = hashlib.sha256(b"drawn after the commitments").digest()


def _persona(emulation: Emulation, cheat: Cheat) -> str:
    return f"{emulation.value}+{cheat.value}"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Path]]]:
    """Every job's result file from a worker of each persona (one single-slot node each, one broker)."""
    personas = [(e, Cheat.NONE) for e in HONEST] + [(Emulation.NONE, c) for c in CHEATS]
    home = tmp_path_factory.mktemp("verification")
    with ExitStack() as stack:
        dispatchers, pools = {}, []
        for emulation, cheat in personas:
            settings = load_settings(
                home=home / _persona(emulation, cheat),
                broker_url="sqlite",
                result_backend="sqlite",
                queue_prefix=f"verif-{uuid.uuid4().hex[:10]}",
            )
            env = {ENV_EMULATE: emulation.value, ENV_CHEAT: cheat.value}
            pool = stack.enter_context(WorkerPool(settings, slots=1, extra_env=env))
            pool.start()
            pools.append(pool)
            dispatchers[_persona(emulation, cheat)] = Dispatcher(settings)
        for pool in pools:
            pool.wait_ready(timeout=180)
        found: dict[str, dict[str, Path]] = {}
        for persona, dispatcher in dispatchers.items():
            for job in JOBS:
                done = dispatcher.run(f"v-{job.name}-{uuid.uuid4().hex[:8]}", job.spec, job.inputs)
                found.setdefault(job.name, {})[persona] = done.result_path
        yield found


@pytest.mark.parametrize("job", [j.name for j in JOBS])
def test_emulated_classes_change_bytes_but_stay_within_tolerance(
    results: dict[str, dict[str, Path]], job: str
) -> None:
    reference = results[job][_persona(Emulation.NONE, Cheat.NONE)]
    for emulation in HONEST[1:]:
        other = results[job][_persona(emulation, Cheat.NONE)]
        assert other.read_bytes() != reference.read_bytes(), f"{emulation} computed the same bytes"
        distance = hamming(fingerprint_file(reference, SEED), fingerprint_file(other, SEED))
        assert distance <= DEFAULT_TOLERANCE, (emulation, distance)


@pytest.mark.parametrize("cheat", CHEATS, ids=[c.value for c in CHEATS])
@pytest.mark.parametrize("job", [j.name for j in JOBS])
def test_every_cheat_falls_outside_tolerance(
    results: dict[str, dict[str, Path]], job: str, cheat: Cheat
) -> None:
    cheated = fingerprint_file(results[job][_persona(Emulation.NONE, cheat)], SEED)
    for emulation in HONEST:
        honest = fingerprint_file(results[job][_persona(emulation, Cheat.NONE)], SEED)
        assert hamming(cheated, honest) > DEFAULT_TOLERANCE, (cheat, emulation)
