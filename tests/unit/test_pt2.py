"""The .pt2 vetting: clean archives load; anything that could unpickle or run code is refused first."""

import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neurolink.pt2 import UnsafeProgramError, check_archive, save_program
from node.worker.samples import program_bytes

LIMIT = 1 << 26


class _Touch:
    """Unpickling this creates a file: the stand-in for any code an attacker would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def clean() -> bytes:
    return program_bytes()


def _rewrite(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the archive with members (paths below its top folder) replaced or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    root = src.namelist()[0].split("/")[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            rel = info.filename.split("/", 1)[1]
            dst.writestr(info.filename, replace.pop(rel, src.read(info)))
        for rel, content in replace.items():
            dst.writestr(f"{root}/{rel}", content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}


def test_clean_archive_passes_and_loads(clean: bytes) -> None:
    import torch

    check_archive(clean, LIMIT)
    module = torch.export.load(io.BytesIO(clean)).module(check_guards=False)
    assert module(torch.zeros(3, 8)).shape == (3, 4)


def test_pickled_sample_inputs_run_code_in_torch_but_are_refused_here(clean: bytes, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-torch"
    evil = _rewrite(clean, {"data/sample_inputs/model.pt": pickle.dumps(_Touch(marker))})
    archive = tmp_path / "evil.pt2"
    archive.write_bytes(evil)
    # Proof the payload is live: plain torch.export.load runs it (in a throwaway process).
    subprocess.run(
        [sys.executable, "-c", f"import torch; torch.export.load({str(archive)!r})"],
        capture_output=True,
        check=False,
    )
    assert marker.exists(), "the payload should run under an unvetted torch.export.load"
    marker.unlink()
    with pytest.raises(
        UnsafeProgramError, match=r"sample_inputs/model\.pt: program carries pickled sample inputs"
    ):
        check_archive(evil, LIMIT)
    assert not marker.exists()


def test_pickled_weight_is_refused(clean: bytes, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    members = _members(clean)
    config = json.loads(members["data/weights/model_weights_config.json"])
    entry = next(iter(config["config"].values()))
    entry["use_pickle"] = True
    evil = _rewrite(
        clean,
        {
            "data/weights/model_weights_config.json": json.dumps(config).encode(),
            f"data/weights/{entry['path_name']}": pickle.dumps(_Touch(marker)),
        },
    )
    with pytest.raises(UnsafeProgramError, match="is a pickled object"):
        check_archive(evil, LIMIT)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"extra/payload.pkl": b"\x80\x04."}, "not allowed"),
        ({"data/constants/custom_obj_0": b"x"}, "not allowed"),
        ({"data/weights/weight_99": b"\x00" * 4}, "not listed in its config"),
        ({"data/aotinductor/model/model.so": b"\x7fELF"}, "not allowed"),
        ({"extra/notes.txt": b"x"}, "not allowed"),
        ({"data/weights/model.pt": b"\x80\x04."}, "not allowed"),  # legacy pickled state dict
        ({"data/constants/model.pt": b"\x80\x04."}, "not allowed"),
        ({"data/constants/opaque_obj_0": b"\x80\x04."}, "not allowed"),
        ({"models/other.json": b"{}"}, "not allowed"),
    ],
)
def test_unexpected_members_are_refused(clean: bytes, extra: dict[str, bytes], message: str) -> None:
    with pytest.raises(UnsafeProgramError, match=message):
        check_archive(_rewrite(clean, extra), LIMIT)


def test_non_aten_call_target_is_refused(clean: bytes) -> None:
    program = json.loads(_members(clean)["models/model.json"])
    program["graph_module"]["graph"]["nodes"][0]["target"] = "builtins.exec"
    evil = _rewrite(clean, {"models/model.json": json.dumps(program).encode()})
    with pytest.raises(
        UnsafeProgramError, match=r"nodes\[0\]\.target: program calls 'builtins\.exec', not an ATen"
    ):
        check_archive(evil, LIMIT)


def test_malformed_archives_are_refused(clean: bytes) -> None:
    with pytest.raises(UnsafeProgramError, match=r"not a \.pt2"):
        check_archive(b"not a zip", LIMIT)
    with pytest.raises(UnsafeProgramError, match="unpacks to"):
        check_archive(clean, 100)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a/../../etc/x", b"")
    with pytest.raises(UnsafeProgramError, match="unsafe path"):
        check_archive(out.getvalue(), LIMIT)


# ------------------------------------------------------------- strings torch evaluates or imports

SHELL = "__import__('os').system('touch {marker}')"


def _program(data: bytes) -> dict[str, Any]:
    program: dict[str, Any] = json.loads(_members(data)["models/model.json"])
    return program


def _with_program(data: bytes, program: dict[str, Any]) -> bytes:
    return _rewrite(data, {"models/model.json": json.dumps(program).encode()})


def _first_symbolic_size(program: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(tensor name, its size entry) of the first dynamic dimension in the graph."""
    for name, meta in program["graph_module"]["graph"]["tensor_values"].items():
        for size in meta["sizes"]:
            if "as_expr" in size:
                return name, size["as_expr"]
    raise AssertionError("the sample program has no dynamic dimension")


def _load_in_subprocess(archive: Path) -> subprocess.CompletedProcess[str]:
    """torch.export.load with no vetting at all, in a throwaway process."""
    return subprocess.run(
        [sys.executable, "-c", f"import torch; torch.export.load({str(archive)!r})"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_expr_str_runs_shell_commands_in_torch_but_is_refused_here(clean: bytes, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-sympify"
    program = _program(clean)
    tensor, expr = _first_symbolic_size(program)
    expr["expr_str"] = SHELL.format(marker=marker)
    evil = _with_program(clean, program)
    archive = tmp_path / "evil.pt2"
    archive.write_bytes(evil)
    _load_in_subprocess(archive)
    assert marker.exists(), "sympify should run the expression under an unvetted torch.export.load"
    marker.unlink()
    field = rf"tensor_values\['{tensor}'\]\.sizes\[0\]\.as_expr\.expr_str"
    with pytest.raises(UnsafeProgramError, match=field):
        check_archive(evil, LIMIT)
    assert not marker.exists()


def test_treespec_imports_any_module_in_torch_but_is_refused_here(clean: bytes, tmp_path: Path) -> None:
    # `this` prints the Zen of Python when imported: the visible proof of an attacker-chosen import.
    program = _program(clean)
    signature = program["graph_module"]["module_call_graph"][0]["signature"]
    context = {"default_factory_module": "this", "default_factory_name": "s", "dict_context": []}
    node = {"type": "collections.defaultdict", "context": context, "children_spec": []}
    signature["out_spec"] = json.dumps([1, node])
    evil = _with_program(clean, program)
    archive = tmp_path / "evil.pt2"
    archive.write_bytes(evil)
    assert "The Zen of Python" in _load_in_subprocess(archive).stdout
    with pytest.raises(UnsafeProgramError, match=r"module_call_graph\[0\]\.signature\.out_spec"):
        check_archive(evil, LIMIT)


def _set_expr(where: str) -> Callable[[dict[str, Any]], None]:
    def edit(program: dict[str, Any]) -> None:
        graph = program["graph_module"]["graph"]
        evil = {"as_expr": {"expr_str": SHELL.format(marker="x"), "hint": None}}
        meta = next(iter(graph["tensor_values"].values()))
        if where == "strides":
            meta["strides"][0] = evil
        elif where == "storage_offset":
            meta["storage_offset"] = evil
        else:
            graph[where]["evil"] = evil

    return edit


def _edit_node(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def edit(program: dict[str, Any]) -> None:
        program["graph_module"]["graph"]["nodes"][0][key] = value

    return edit


def _edit_metadata(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def edit(program: dict[str, Any]) -> None:
        program["graph_module"]["graph"]["nodes"][0]["metadata"][key] = value

    return edit


def _edit_input(arg: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(program: dict[str, Any]) -> None:
        program["graph_module"]["graph"]["nodes"][0]["inputs"][0]["arg"] = arg

    return edit


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def edit(program: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = program
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value

    return edit


def _enum_key_spec(program: dict[str, Any]) -> None:
    enum = {"__enum__": True, "fqn": "os:environ", "name": "NEUROLINK_PASSWORD"}
    leaf = {"type": None, "context": None, "children_spec": []}
    node = {"type": "builtins.dict", "context": json.dumps([enum]), "children_spec": [leaf]}
    program["graph_module"]["module_call_graph"][0]["signature"]["in_spec"] = json.dumps([1, node])


ATTACKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "sym_int_values": (_set_expr("sym_int_values"), r"sym_int_values\['evil'\]\.as_expr\.expr_str"),
    "sym_bool_values": (_set_expr("sym_bool_values"), r"sym_bool_values\['evil'\]\.as_expr\.expr_str"),
    "sym_float_values": (_set_expr("sym_float_values"), r"sym_float_values\['evil'\]\.as_expr\.expr_str"),
    "strides": (_set_expr("strides"), r"strides\[0\]\.as_expr\.expr_str"),
    "storage_offset": (_set_expr("storage_offset"), r"storage_offset\.as_expr\.expr_str"),
    "undeclared symbol": (
        lambda p: _first_symbolic_size(p)[1].update(expr_str="Symbol('s999', integer=True)"),
        r"expr_str: symbolic expression .*not a declared symbol",
    ),
    "sympy attribute": (
        lambda p: _first_symbolic_size(p)[1].update(expr_str="Integer(1).func.__globals__"),
        r"expr_str: symbolic expression",
    ),
    "range constraint name": (
        _set("range_constraints.__import__('os')", {"min_val": 0, "max_val": None}),
        r"range_constraints\[\"__import__\('os'\)\"\]: symbolic expression",
    ),
    "guards_code": (_set("guards_code", [SHELL.format(marker="x")]), r"guards_code\[0\]: guard code"),
    "treespec enum object": (_enum_key_spec, r"signature\.in_spec: builtins\.dict keys must be"),
    "aten file reader": (
        _edit_node("target", "torch.ops.aten.from_file.default"),
        r"nodes\[0\]\.target: program calls 'torch\.ops\.aten\.from_file",
    ),
    "higher-order op": (
        _edit_node("target", "torch.ops.higher_order.cond"),
        r"nodes\[0\]\.target: program calls",
    ),
    "as_operator argument": (
        _edit_input({"as_operator": "torch.load"}),
        r"inputs\[0\]\.arg\.as_operator: program calls 'torch\.load'",
    ),
    "custom object argument": (
        _edit_input({"as_custom_obj": {"name": "obj", "class_fqn": "__torch__.torch.classes.x"}}),
        r"inputs\[0\]\.arg\.as_custom_obj: not accepted here",
    ),
    "subgraph argument": (
        _edit_input({"as_graph": {"name": "g", "graph": {}}}),
        r"inputs\[0\]\.arg\.as_graph: not accepted here",
    ),
    "custom_obj_values": (
        _set("graph_module.graph.custom_obj_values", {"obj": {"name": "obj", "class_fqn": "x"}}),
        r"graph\.custom_obj_values: must be empty",
    ),
    "source_fn_stack": (
        _edit_metadata("source_fn_stack", "linear,__import__('os').system"),
        r"metadata\.source_fn_stack\[0\]",
    ),
    "unknown metadata": (_edit_metadata("exec", "1"), r"metadata\.exec: unknown field"),
    "unknown node field": (_edit_node("code", "import os"), r"nodes\[0\]\.code: unknown field"),
    "verifier": (_set("verifiers", ["EVIL"]), r"verifiers\[0\]: unknown verifier"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_every_evaluated_field_is_held_to_its_grammar(clean: bytes, attack: str) -> None:
    edit, field = ATTACKS[attack]
    program = _program(clean)
    edit(program)
    with pytest.raises(UnsafeProgramError, match=field):
        check_archive(_with_program(clean, program), LIMIT)


def test_infix_integer_arithmetic_over_declared_symbols_passes(clean: bytes) -> None:
    program = _program(clean)
    (symbol,) = program["range_constraints"]
    _first_symbolic_size(program)[1]["expr_str"] = f"Max(1, 2*{symbol} + ({symbol} // 3) % 4 - -1)"
    check_archive(_with_program(clean, program), LIMIT)


def test_a_weight_starting_with_a_pickle_opcode_byte_passes_and_loads(clean: bytes) -> None:
    import torch

    value = struct.unpack("<f", b"\x80\x00\x80\x3e")[0]  # 0.2500038..., raw bytes start with 0x80
    members = _members(clean)
    config = json.loads(members["data/weights/model_weights_config.json"])["config"]
    fqn, meta = next((k, v) for k, v in config.items() if k.endswith("weight"))
    path = f"data/weights/{meta['path_name']}"
    honest = _rewrite(clean, {path: struct.pack("<f", value) + members[path][4:]})
    check_archive(honest, LIMIT)
    weights = torch.export.load(io.BytesIO(honest)).state_dict
    assert weights[fqn].flatten()[0].item() == value


def test_payload_smaller_than_its_tensor_is_refused(clean: bytes) -> None:
    members = _members(clean)
    config = json.loads(members["data/weights/model_weights_config.json"])["config"]
    path = f"data/weights/{next(iter(config.values()))['path_name']}"
    with pytest.raises(UnsafeProgramError, match=r"tensor_meta: views \d+ bytes of a 8-byte payload"):
        check_archive(_rewrite(clean, {path: b"\x00" * 8}), LIMIT)


def test_derived_dimensions_pass() -> None:
    import torch

    class Shifted(torch.nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return x[1:] + y

    batch = torch.export.Dim("batch", min=3, max=100)
    args = (torch.randn(5, 2), torch.randn(4, 2))
    program = torch.export.export(Shifted(), args, dynamic_shapes=({0: batch + 1}, {0: batch}))
    buffer = io.BytesIO()
    save_program(program, buffer)
    assert any(" + 1" in key for key in _program(buffer.getvalue())["range_constraints"])
    check_archive(buffer.getvalue(), LIMIT)


@pytest.fixture(scope="module")
def transformer() -> tuple[Any, bytes]:
    """A pre-norm transformer encoder (10 blocks, 104 tensors) exported with a dynamic batch."""
    import torch

    torch.manual_seed(0)
    d = 16

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = torch.nn.LayerNorm(d)
            self.attn = torch.nn.MultiheadAttention(d, 2, batch_first=True)
            self.ff = torch.nn.Sequential(
                torch.nn.Linear(d, 2 * d), torch.nn.GELU(), torch.nn.Linear(2 * d, d)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.norm(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ff(self.norm(x))

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Linear(8, d)
            self.blocks = torch.nn.Sequential(*(Block() for _ in range(10)))
            self.head = torch.nn.Linear(d, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.blocks(self.embed(x)).mean(dim=1))

    model = Encoder().eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model, (torch.randn(3, 5, 8),), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    save_program(program, buffer)
    return model, buffer.getvalue()


def test_realistic_transformer_with_dynamic_batch_is_accepted_and_loads(
    transformer: tuple[Any, bytes],
) -> None:
    import torch

    model, data = transformer
    payloads = [m for m in _members(data) if m.startswith("data/weights/weight_")]
    assert len(payloads) >= 100
    program = _program(data)
    assert program["range_constraints"], "the batch dimension should be symbolic"
    check_archive(data, LIMIT)
    module = torch.export.load(io.BytesIO(data)).module(check_guards=False)
    x = torch.randn(7, 5, 8)
    with torch.inference_mode():
        assert torch.allclose(module(x), model(x), atol=1e-5)


@pytest.mark.parametrize(
    "expr",
    [
        "Pow(Integer(10), Integer(10000000))",
        "1" * 20,
        "s0 ** 2",
        "Float('1.5', precision=53)",
        "Lambda(s0, s0)",
    ],
)
def test_expressions_outside_the_integer_grammar_are_refused(clean: bytes, expr: str) -> None:
    program = _program(clean)
    (symbol,) = program["range_constraints"]
    _first_symbolic_size(program)[1]["expr_str"] = expr.replace("s0", symbol)
    with pytest.raises(UnsafeProgramError, match=r"expr_str: symbolic expression"):
        check_archive(_with_program(clean, program), LIMIT)
