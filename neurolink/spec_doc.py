"""docs/JOBSPEC.md, generated from the JobSpec model so the reference cannot drift from the validator."""

import json
from typing import Any, Final

from neurolink.spec import JobSpec

# What the schema cannot say about a field: its meaning. Keys are "Model.field"; a test checks each exists.
NOTES: Final[dict[str, str]] = {
    "JobSpec.version": "Spec format version; only 1 exists.",
    "JobSpec.workload": "What to run: one of the workloads below, chosen by `kind`.",
    "JobSpec.inputs": (
        "Input name → CID. In a spec *file* a value may also be a path relative to the spec; "
        "`job submit` uploads it and puts its CID here. Every input must be used by the workload."
    ),
    "JobSpec.requirements": "What a provider must offer (see Requirements).",
    "JobSpec.replicas": "Providers that each run the job; their result digests are compared.",
    "JobSpec.verification": (
        "How replicas' results are compared and what a disagreement leads to (see Verification and "
        'docs/VERIFICATION.md). A bare `"exact"` or `"tolerant"` is shorthand for `{"mode": …}`.'
    ),
    "Verification.mode": (
        "`exact`: results must be byte-identical, and the job runs on one determinism class only. "
        "`tolerant`: results match when their 256-bit fingerprints differ in at most `tolerance` bits, "
        "on any class. Default: `tolerant` for inference and train, `exact` for benchmark."
    ),
    "Verification.tolerance": (
        "Tolerant only: the largest Hamming distance between two matching fingerprints, in bits "
        "(default 24, calibrated in docs/VERIFICATION.md). Refused for exact."
    ),
    "Verification.device_class": (
        "Exact only: the one determinism class (`neurolink node selftest` shows a machine's) allowed to "
        "claim; `null`: the first provider to claim fixes the class of the rest."
    ),
    "Verification.escalate": (
        "On disagreement, re-run the job on 2k + 1 fresh providers whose majority decides; the losers "
        "of both rounds are slashed. Needs 3..5 replicas: off (whatever is given) below 3, refused if "
        "`true` above 5, where the replicas' vote decides. `job submit` escrows a reserve of "
        "payment * (2k + 1) / k beside the payment for it when the network has the 3k + 1 providers "
        "with free stake a job and its re-run need (else the vote decides; `job submit` shows the "
        "reserve); what the re-run does not use is refunded."
    ),
    "JobSpec.limits": "Caps each worker enforces (see Limits).",
    "JobSpec.seed": "Seeds every random number generator of the job, so replicas agree.",
    "Requirements.gpu_count": "Devices the job runs on (one rank each); a provider must offer as many.",
    "Requirements.min_vram_mib": "Memory per device the provider must offer.",
    "Requirements.tier": "Hardware tier name (`any` accepts every tier); it also scales the price.",
    "Requirements.max_runtime_s": "Declared runtime: the job is killed past it; it sizes the commit window.",
    "Requirements.spread_hosts": "Whether the ranks may run on several hosts of one provider (each rank"
    " still gets one device; a provider prefers one host). Left out of the canonical JSON while false.",
    "Limits.max_input_bytes": "Largest input a provider downloads.",
    "Limits.max_output_bytes": "Largest result a provider stores.",
    "Limits.max_memory_bytes": "Address-space cap of the job process.",
    "InferenceWorkload.program": "Input holding a torch.export program (`.pt2`).",
    "InferenceWorkload.inputs": "Input holding a safetensors file; its tensors are split along dim 0.",
    "InferenceWorkload.batch_size": "Rows per forward pass.",
    "TrainWorkload.model": "A catalog architecture (MLP, CNN or GPT below), chosen by `arch`.",
    "TrainWorkload.dataset": "Input holding a safetensors file with tensors `x` and `y`.",
    "TrainWorkload.batch_size": "The global batch, split across the job's devices.",
    "BenchmarkWorkload.size": "Side of the square matrices multiplied.",
    "BenchmarkWorkload.iterations": "Timed multiplications per device.",
}

EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "benchmark": {
        "workload": {"kind": "benchmark", "size": 1024, "dtype": "float32", "iterations": 10},
        "requirements": {"gpu_count": 1, "max_runtime_s": 60},
        "replicas": 3,
    },
    "train": {
        "workload": {
            "kind": "train",
            "model": {"arch": "mlp", "in_features": 8, "hidden": [32], "out_features": 4},
            "dataset": "data",
            "epochs": 2,
            "batch_size": 32,
        },
        "inputs": {"data": "data.safetensors"},
        "requirements": {"max_runtime_s": 300},
        "replicas": 3,
        "verification": {"mode": "tolerant", "tolerance": 24, "escalate": True},
    },
    "inference": {
        "workload": {"kind": "inference", "program": "model", "inputs": "rows", "batch_size": 64},
        "inputs": {"model": "model.pt2", "rows": "rows.safetensors"},
        "replicas": 2,
    },
}

_LIMITS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("maxProperties", "at most {} entries"),
    ("pattern", "matching `{}`"),
)


def _type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "$ref" in prop:
        return f"[{prop['$ref'].rsplit('/', 1)[1]}](#{prop['$ref'].rsplit('/', 1)[1].lower()})"
    if "oneOf" in prop:
        return " \\| ".join(_type(p) for p in prop["oneOf"])
    if "anyOf" in prop:  # an optional field: its type or null
        return " \\| ".join(_type(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        items = prop.get("items", prop.get("prefixItems", [{}]))
        return f"array of {_type(items if isinstance(items, dict) else items[0])}"
    if kind == "object" and "patternProperties" in prop:
        ((key, value),) = prop["patternProperties"].items()
        return f"object: name (`{key}`) → {_type(value)}"
    return str(kind)


def _limits(prop: dict[str, Any]) -> str:
    found = [text.format(prop[key]) for key, text in _LIMITS if key in prop]
    for option in prop.get("anyOf", ()):
        found += [text.format(option[key]) for key, text in _LIMITS if key in option]
    items = prop.get("items")
    if isinstance(items, dict):
        found += [f"each {text.format(items[key])}" for key, text in _LIMITS if key in items]
    if "patternProperties" in prop:
        (value,) = prop["patternProperties"].values()
        found += [f"each value {text.format(value[key])}" for key, text in _LIMITS if key in value]
    return ", ".join(found).replace("|", "\\|")


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in prop:
        return ""
    return f"`{json.dumps(prop['default'], separators=(',', ':'))}`"


def _table(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", "", schema.get("description", ""), ""]
    lines += ["| field | type | default | limits | meaning |", "|---|---|---|---|---|"]
    required = set(schema.get("required", ()))
    for field, prop in schema["properties"].items():
        note = NOTES.get(f"{name}.{field}", "")
        row = (f"`{field}`", _type(prop), _default(prop, field in required), _limits(prop), note)
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def render() -> str:
    """The whole of docs/JOBSPEC.md."""
    schema = JobSpec.model_json_schema()
    defs = schema.pop("$defs")
    order = ["Requirements", "Verification", "Limits"]
    order += ["BenchmarkWorkload", "TrainWorkload", "InferenceWorkload"]
    order += ["MLPArch", "CNNArch", "GPTArch"]
    lines = [
        "# The job spec",
        "",
        "<!-- Generated by `python -m neurolink.spec_doc > docs/JOBSPEC.md` from neurolink/spec.py;",
        "     tests/unit/test_jobspec_doc.py fails when it differs. Do not edit by hand. -->",
        "",
        "A job spec is one JSON object (at most 64 KiB). Unknown fields are refused, and types are strict:",
        '`"10"` is not a number. `neurolink job schema` prints the JSON Schema these tables come from.',
        "The spec is stored by CID in canonical form (sorted keys, every default spelled out), and its",
        "digest goes on chain: providers fetch it and its inputs from the content sources",
        "(see docs/OPERATIONS.md, *Content that reaches providers*).",
        "",
        *_table("JobSpec", schema),
        *[line for name in order for line in _table(name, defs[name])],
        "## Examples",
        "",
        "Inputs given as file paths are relative to the spec file; `neurolink job submit SPEC` uploads",
        "them first (a missing one is reported as `no file …`).",
        "",
    ]
    for kind, example in EXAMPLES.items():
        lines += [f"### {kind}", "", "```json", json.dumps(example, indent=2), "```", ""]
    return "\n".join([*lines, *RESULT_SECTION])


RESULT_SECTION: Final = [
    "## What a requester gets back",
    "",
    "`neurolink job result ID -o DIR` writes `DIR/job-ID-result.<ext>` (`.safetensors` for inference",
    "and training, `.json` for a benchmark), checked against the digest the providers agreed on, and",
    "`DIR/job-ID-metrics.json`:",
    "",
    "- `verified`: the figures the result itself carries, covered by the same digest as the data: a",
    "  training job's `epoch_loss`, `final_loss` and `steps`, an inference job's `rows` (both in the",
    "  safetensors metadata under `neurolink.metrics`), a benchmark's whole JSON (`size`, `dtype`,",
    "  `iterations`, `flop_per_rank`, one `sha256` per rank). Timings differ per provider and are never",
    "  part of a result.",
    "- `created_at`, `settled_at`, `submit_to_settled_s`: block timestamps of creation and settlement.",
    "- `providers`: per slot holder, `claimed_at`, `committed_at`, `claim_to_commit_s` and, for a",
    "  benchmark, `tflops_at_least` = the result's FLOPs / claim-to-commit time. A provider computes",
    "  between its claim and its commitment, so this is a floor on its rate that nobody can inflate",
    "  (block timestamps are whole seconds: a gap under a second counts as one).",
    "",
]


if __name__ == "__main__":
    print(render(), end="")
