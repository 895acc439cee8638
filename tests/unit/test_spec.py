"""JobSpec: canonical JSON (same spec, same bytes), round trips, and errors that name the field."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurolink.errors import ExitCode
from neurolink.spec import (
    BenchmarkWorkload,
    JobSpec,
    Requirements,
    SpecError,
    TrainWorkload,
    Verification,
)
from neurolink.verification.fingerprint import DEFAULT_TOLERANCE

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def _train(**overrides: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "workload": {
            "kind": "train",
            "model": {
                "arch": "gpt",
                "vocab_size": 16,
                "block_size": 8,
                "d_model": 16,
                "n_layers": 1,
                "n_heads": 2,
            },
            "dataset": "data",
        },
        "inputs": {"data": CID},
    }
    spec.update(overrides)
    return spec


def test_canonical_json_is_compact_sorted_and_spells_out_defaults() -> None:
    spec = JobSpec.from_json(json.dumps(_train()))
    raw = spec.canonical_json()
    assert b" " not in raw and b"\n" not in raw
    parsed = json.loads(raw)
    assert raw == json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    assert parsed["requirements"]["max_runtime_s"] == 600
    assert parsed["verification"] == {
        "mode": "tolerant",
        "tolerance": 24,
        "device_class": None,
        "escalate": False,
    }
    explicit = JobSpec.from_json(raw)
    assert explicit == spec and explicit.canonical_json() == raw


def test_key_order_and_whitespace_do_not_change_the_canonical_bytes() -> None:
    doc = _train(seed=5, replicas=3)
    shuffled = json.dumps(dict(reversed(list(doc.items()))), indent=2)
    assert JobSpec.from_json(shuffled).canonical_json() == JobSpec.from_json(json.dumps(doc)).canonical_json()


@given(
    size=st.integers(16, 32768),
    dtype=st.sampled_from(["float32", "float16", "bfloat16", "float64"]),
    gpus=st.integers(1, 64),
    seed=st.integers(0, 2**63 - 1),
)
def test_round_trip_is_identity(size: int, dtype: str, gpus: int, seed: int) -> None:
    spec = JobSpec(
        workload=BenchmarkWorkload(size=size, dtype=dtype),  # type: ignore[arg-type]
        requirements=Requirements(gpu_count=gpus),
        seed=seed,
    )
    again = JobSpec.from_json(spec.canonical_json())
    assert again == spec and again.canonical_json() == spec.canonical_json()


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (_train(replicas=0), "replicas"),
        (_train(verification="majority"), "verification"),
        (_train(version=2), "version"),
        (_train(surprise=1), "surprise"),
        (_train(inputs={"data": "not a cid!"}), "inputs.data"),
        (_train(requirements={"gpu_count": 0}), "requirements.gpu_count"),
        (_train(limits={"max_memory_bytes": 1}), "limits.max_memory_bytes"),
        ({"workload": {"kind": "mine-bitcoin"}}, "workload"),
        ({"workload": {"kind": "benchmark", "size": "1024"}}, "workload.benchmark.size"),
        ({"workload": {"kind": "benchmark", "dtype": "int8"}}, "workload.benchmark.dtype"),
        (
            _train(workload={"kind": "train", "model": {"arch": "mlp", "in_features": 4}, "dataset": "data"}),
            "workload.train.model.mlp.out_features",
        ),
    ],
)
def test_malformed_spec_names_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError, match=rf"field {field}\b") as info:
        JobSpec.from_json(json.dumps(doc))
    assert info.value.exit_code == ExitCode.INVALID_INPUT


def test_cross_field_rules_are_explained() -> None:
    bad_gpt = {"arch": "gpt", "vocab_size": 8, "block_size": 4, "d_model": 10, "n_layers": 1, "n_heads": 3}
    with pytest.raises(SpecError, match=r"model\.gpt: Value error, d_model 10 is not divisible by n_heads 3"):
        JobSpec.from_json(json.dumps(_train(workload={**_train()["workload"], "model": bad_gpt})))  # type: ignore[dict-item]
    with pytest.raises(SpecError, match="'other', which is not in inputs"):
        JobSpec.from_json(json.dumps(_train(workload={**_train()["workload"], "dataset": "other"})))  # type: ignore[dict-item]
    with pytest.raises(SpecError, match="'extra' is not used"):
        JobSpec.from_json(json.dumps(_train(inputs={"data": CID, "extra": CID})))
    with pytest.raises(SpecError, match="smaller than gpu_count"):
        JobSpec.from_json(
            json.dumps(
                _train(requirements={"gpu_count": 8}, workload={**_train()["workload"], "batch_size": 4})
            )
        )  # type: ignore[dict-item]
    with pytest.raises(SpecError, match="does not fit a gpt"):
        JobSpec.from_json(json.dumps(_train(workload={**_train()["workload"], "loss": "mse"})))  # type: ignore[dict-item]


def test_not_json_and_oversize_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="not valid JSON"):
        JobSpec.from_json(b"{nope")
    with pytest.raises(SpecError, match="more than the"):
        JobSpec.from_json(b" " * (65 * 1024))
    with pytest.raises(SpecError, match="not valid JSON"):
        JobSpec.from_json(b"\xff\xfe")


def test_train_workload_is_frozen() -> None:
    spec = JobSpec.from_json(json.dumps(_train()))
    assert isinstance(spec.workload, TrainWorkload)
    with pytest.raises(Exception, match="frozen"):
        spec.workload.epochs = 5  # type: ignore[misc]


def _verification(doc: dict[str, object]) -> dict[str, object]:
    return dict(json.loads(JobSpec.from_json(json.dumps(doc)).canonical_json())["verification"])


def test_verification_defaults_follow_the_workload_and_replicas() -> None:
    bench = {"workload": {"kind": "benchmark"}}
    # Floats of inference and training differ across hardware in their low bits; a benchmark checksum not.
    assert _verification(_train(replicas=3)) == {
        "mode": "tolerant",
        "tolerance": DEFAULT_TOLERANCE,
        "device_class": None,
        "escalate": True,
    }
    assert _verification({**bench, "replicas": 3}) == {
        "mode": "exact",
        "tolerance": None,
        "device_class": None,
        "escalate": True,
    }
    # Nothing to re-run with one replica; 3k + 1 slots do not fit above five: off unless asked for.
    assert _verification({**bench, "replicas": 1, "verification": {"escalate": True}})["escalate"] is False
    assert _verification({**bench, "replicas": 7})["escalate"] is False
    assert _verification({**bench, "replicas": 5, "verification": {"escalate": False}})["escalate"] is False
    # The bare mode is shorthand for the section; a section without a mode takes the workload's.
    assert _verification(_train(verification="exact"))["mode"] == "exact"
    assert _verification(_train(verification={"tolerance": 9})) == {
        "mode": "tolerant",
        "tolerance": 9,
        "device_class": None,
        "escalate": False,
    }


def test_a_spelled_out_verification_has_the_same_canonical_bytes() -> None:
    implicit = JobSpec.from_json(json.dumps(_train(replicas=3)))
    explicit = JobSpec.from_json(
        json.dumps(_train(replicas=3, verification={"mode": "tolerant", "tolerance": 24, "escalate": True}))
    )
    assert implicit.canonical_json() == explicit.canonical_json()
    spec = JobSpec(
        workload=BenchmarkWorkload(),
        replicas=3,
        verification=Verification(mode="exact", device_class="0x" + "AB" * 32),
    )
    assert spec.verification.escalate is True
    assert spec.verification.device_class == "0x" + "ab" * 32  # one spelling, one CID
    assert spec.verification.device_class_bytes == b"\xab" * 32
    assert JobSpec.from_json(spec.canonical_json()) == spec


@pytest.mark.parametrize(
    ("section", "replicas", "message"),
    [
        ({"mode": "exact", "tolerance": 3}, 3, "tolerance is for tolerant verification"),
        ({"mode": "tolerant", "device_class": "0x" + "11" * 32}, 3, "device_class is for exact verification"),
        (
            {"mode": "tolerant", "tolerance": 0},
            3,
            r"verification.tolerance: Input should be greater than or equal to 1",
        ),
        (
            {"mode": "tolerant", "tolerance": 65},
            3,
            r"verification.tolerance: Input should be less than or equal to 64",
        ),
        ({"mode": "exact", "device_class": "0x1234"}, 3, r"verification.device_class: String should match"),
        ({"mode": "exact", "device_class": "0x" + "00" * 32}, 3, "names no class"),
        ({"mode": "majority"}, 3, r"verification.mode: Input should be 'exact' or 'tolerant'"),
        ({"escalate": True}, 6, "needs 3 to 5 replicas, not 6"),
        ({"surprise": 1}, 3, r"verification.surprise: Extra inputs are not permitted"),
    ],
)
def test_bad_verification_is_explained(section: dict[str, object], replicas: int, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        JobSpec.from_json(json.dumps(_train(replicas=replicas, verification=section)))
