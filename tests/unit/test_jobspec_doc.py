"""docs/JOBSPEC.md and `neurolink job schema` come from the JobSpec model and stay in step with it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurolink.spec import JobSpec
from neurolink.spec_doc import EXAMPLES, NOTES, render
from neurolink.specfile import read_spec

DOC = Path(__file__).parents[2] / "docs" / "JOBSPEC.md"


def test_the_committed_doc_is_what_the_model_generates() -> None:
    assert DOC.read_text() == render(), "regenerate: python -m neurolink.spec_doc > docs/JOBSPEC.md"


def test_every_field_is_documented_and_every_note_names_a_field() -> None:
    schema = JobSpec.model_json_schema()
    models = {"JobSpec": schema, **schema["$defs"]}
    fields = {f"{name}.{field}" for name, model in models.items() for field in model["properties"]}
    assert set(NOTES) <= fields, set(NOTES) - fields
    for name, model in models.items():
        for field in model["properties"]:
            assert f"`{field}`" in DOC.read_text().split(f"### {name}\n", 1)[1].split("###", 1)[0]


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_documented_example_is_a_valid_spec_file(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(EXAMPLES[kind]))
    for name in EXAMPLES[kind].get("inputs", {}).values():
        (tmp_path / name).write_bytes(b"x")
    draft = read_spec(path)
    assert set(draft.files) == set(EXAMPLES[kind].get("inputs", {}))


def test_job_schema_prints_the_models_json_schema() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("neurolink")), "job", "schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == JobSpec.model_json_schema()
