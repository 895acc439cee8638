"""Safe torch.export (.pt2) archives: write one without pickles, vet one before torch reads it.

What torch 2.13's loader (`torch.export.load` → `pt2_archive._package.load_pt2` →
`ExportedProgramDeserializer`) turns from archive data into running code, and what stops it here:

- pickles: `use_pickle` weights and constants (`torch.load(weights_only=False)`), custom and opaque
  objects (`torch._C._pickle_load_obj`, `pickle.loads`), the sample inputs (`torch.load` with a
  `weights_only=False` fallback). Refused: only raw tensor payloads and an empty sample-inputs member.
  Raw payloads are never unpickled (they become `torch.frombuffer`-style storages), so their bytes
  are not inspected, only their sizes.
- `sympy.sympify` (an `eval`) on every `expr_str` of a symbolic size, stride, offset, int, float or
  bool. Each must parse under a small grammar: integer arithmetic and the sympy/torch function
  names torch writes, over symbols declared in `range_constraints`.
- `getattr` chains on `torch`/`operator`/`math` for node targets, `as_operator` arguments and
  `source_fn_stack` metadata: targets must be ATen ops or the symbolic-int operators torch emits.
- `importlib.import_module` + `getattr` in pytree specs (`in_spec`/`out_spec`: `defaultdict`
  contexts, `__enum__` objects): only leaf, tuple, list, dict and OrderedDict specs with plain keys.
- `exec` of `guards_code` when the program has sample inputs: refused above, and every guard must
  still tokenize as integer comparisons of input sizes.

Everything else in `models/model.json` is walked against the schema (closed: unknown keys are
refused), restricted to what ATen-only programs use: no subgraphs, custom objects or effect tokens.
"""

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn

from neurolink.errors import VettingError

if TYPE_CHECKING:
    from torch.export import ExportedProgram

MAX_MEMBERS = 4096
MAX_EXPR_CHARS = 4096
MAX_DEPTH = 64
# Raw tensor payloads written by torch.export.save; everything else is rejected by name.
_FIXED = {"archive_format", "archive_version", "byteorder", ".data/version", ".data/serialization_id"}
_PAYLOAD = re.compile(r"data/(weights/weight|constants/tensor)_[0-9]+")
_CONFIG = {
    "data/weights/model_weights_config.json": ("weights", "weight"),
    "data/constants/model_constants_config.json": ("constants", "tensor"),
}
_MODEL = "models/model.json"
_SAMPLE_INPUTS = "data/sample_inputs/model.pt"
_ARCHIVE_VERSION = b"0"
_SCHEMA_MAJOR = 8

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(_IDENT)
_FQN = re.compile(r"([A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)?")
_SYMBOL = re.compile(r"[su][0-9]+")
# ATen ops that touch files or the console: a program has no business with them.
_ATEN_DENIED = {"from_file", "save", "_print", "warn", "_test_warn_in_autograd"}
_ATEN_TARGET = re.compile(rf"torch\.ops\.aten\.({_IDENT})\.({_IDENT})")
# serialize.py `_SYM_OPS` (plus getitem): the non-ATen callables torch writes for symbolic ints.
_SYM_OPERATORS = (
    "eq ne le ge lt gt neg pos mul add sub floordiv mod pow truediv and_ or_ lshift rshift getitem"
)
_SYM_FUNCTIONS = "sym_not sym_int sym_float sym_ite sym_max sym_min sym_sqrt"
_PY_TARGETS = {
    *(f"_operator.{op}" for op in _SYM_OPERATORS.split()),
    *(f"torch.{op}" for op in _SYM_FUNCTIONS.split()),
    "math.trunc",
}
_SCALAR_BYTES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 11: 16, 12: 1, 13: 2,
    28: 2, 29: 1, 30: 1, 31: 1, 32: 1, 33: 1, 34: 4, 35: 8,
}  # fmt: skip
_LAYOUTS = set(range(8))
_MEMORY_FORMATS = set(range(5))
_VERIFIERS = {"", "ATEN", "TRAINING"}
_NODE_METADATA = {"stack_trace", "nn_module_stack", "source_fn_stack", "torch_fn", "custom", "from_node"}
_SOURCE_FN = re.compile(rf"{_IDENT},{_IDENT}(\.[A-Za-z_<>][A-Za-z0-9_<>]*)*")

# Symbolic expressions: torch 2.13 writes sympy's srepr ("Mul(Integer(2), Symbol('s0', positive=True,
# integer=True))"); infix integer arithmetic is accepted too. Anything else never reaches sympify.
# No powers and no literal past 19 digits: an accepted expression cannot make sympy build huge numbers.
_EXPR_TOKEN = re.compile(
    r"[ ]*(?:([0-9]{1,19})(?![0-9])|('[A-Za-z0-9_]+')|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*%(),=]))"
)
_EXPR_FUNCTIONS = {
    "Add", "Mul", "Max", "Min", "FloorDiv", "Mod", "PythonMod", "CeilDiv", "CleanDiv",
    "ModularIndexing", "Equality", "Unequality", "LessThan", "StrictLessThan",
    "GreaterThan", "StrictGreaterThan", "And", "Or", "Not",
}  # fmt: skip
_SYMBOL_ASSUMPTIONS = {"positive", "integer", "nonnegative", "real", "finite", "nonzero"}
# guards_code: comparisons of input sizes/strides with integers, nothing callable beyond those.
_GUARD_TOKEN = re.compile(
    rf"[ ]*(?:L\['{_IDENT}'\](?:\.(?:size|stride)\(\)\[[0-9]+\]|\.storage_offset\(\))*"
    r"|[0-9]+|==|!=|<=|>=|<|>|\+|-|\*|//|%|\(|\)|and\b|or\b|not\b)"
)

Check = Callable[[Any, str], None]


class UnsafeProgramError(VettingError):
    """A .pt2 archive is malformed or carries something that could run code when loaded."""

    code = "UnsafeInput"


def save_program(program: "ExportedProgram", path: str | io.BytesIO) -> None:
    """Write `program` as a .pt2 archive NeuroLink accepts: no sample inputs, hence no pickle."""
    import torch

    program.example_inputs = None
    torch.export.save(program, path)


def check_archive(data: bytes, max_uncompressed: int) -> None:
    """Raise UnsafeProgramError unless `data` is a pickle-free single-model .pt2 archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnsafeProgramError(f"program is not a .pt2 (zip) archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if not infos or len(infos) > MAX_MEMBERS:
            raise UnsafeProgramError(f"program archive has {len(infos)} members")
        total = sum(i.file_size for i in infos)
        if total > max_uncompressed:
            raise UnsafeProgramError(f"program unpacks to {total} bytes, more than {max_uncompressed}")
        members = _members_by_path(infos)
        for path in members:
            _check_member(path)
        if archive.read(members["archive_format"]).strip() != b"pt2":
            raise UnsafeProgramError("archive_format is not pt2", field="archive_format")
        if archive.read(members["archive_version"]).strip() != _ARCHIVE_VERSION:
            raise UnsafeProgramError("unsupported archive_version", field="archive_version")
        if archive.read(members["byteorder"]).strip() != b"little":
            raise UnsafeProgramError("program archive is not little-endian", field="byteorder")
        if members.get(_SAMPLE_INPUTS) is not None and members[_SAMPLE_INPUTS].file_size:
            raise UnsafeProgramError(
                "program carries pickled sample inputs; save it with save_program()", field=_SAMPLE_INPUTS
            )
        referenced: set[str] = set()
        for config_path, (kind, prefix) in _CONFIG.items():
            if config_path in members:
                raw = archive.read(members[config_path])
                referenced |= _check_payload_config(raw, config_path, kind, prefix, members)
        payloads = {p for p in members if _PAYLOAD.fullmatch(p)}
        if payloads != referenced:
            extra = sorted(payloads ^ referenced)[0]
            raise UnsafeProgramError("member is not listed in its config (or missing)", field=extra)
        _Graph(_MODEL).check(_json(archive.read(members[_MODEL]), _MODEL))


def _members_by_path(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    roots = {PurePosixPath(i.filename).parts[0] for i in infos if PurePosixPath(i.filename).parts}
    if len(roots) != 1:
        raise UnsafeProgramError(f"program archive has {len(roots)} top-level folders, expected one")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            raise UnsafeProgramError(f"program member {info.filename!r} has an unsafe path")
        if info.is_dir():
            continue
        rel = "/".join(parts[1:])
        if rel in members:
            raise UnsafeProgramError("member appears twice", field=rel)
        members[rel] = info
    for required in ("archive_format", "archive_version", "byteorder", _MODEL):
        if required not in members:
            raise UnsafeProgramError("program archive lacks this member", field=required)
    return members


def _check_member(path: str) -> None:
    if path in _FIXED or path in _CONFIG or path in {_MODEL, _SAMPLE_INPUTS} or _PAYLOAD.fullmatch(path):
        return
    raise UnsafeProgramError("member is not allowed (only raw tensors and JSON)", field=path)


def _check_payload_config(
    raw: bytes, where: str, kind: str, prefix: str, members: dict[str, zipfile.ZipInfo]
) -> set[str]:
    config = _json(raw, where)
    if set(config) != {"config"} or not isinstance(config["config"], dict):
        raise UnsafeProgramError("payload config must be {'config': {...}}", field=where)
    meta_check = _Graph(where).payload_meta(prefix)
    paths: set[str] = set()
    for fqn, meta in config["config"].items():
        at = f"{where}: config[{fqn!r}]"
        if not isinstance(fqn, str) or not _FQN.fullmatch(fqn):
            raise UnsafeProgramError("not a dotted parameter name", field=at)
        meta_check(meta, at)
        path = f"data/{kind}/{meta['path_name']}"
        info = members.get(path)
        if info is None:
            raise UnsafeProgramError(f"names missing member {path}", field=f"{at}.path_name")
        _check_payload_size(meta["tensor_meta"], info.file_size, f"{at}.tensor_meta")
        paths.add(path)
    return paths


def _check_payload_size(meta: dict[str, Any], nbytes: int, at: str) -> None:
    """torch views the payload with these sizes and strides: they must fit inside its bytes."""
    item = _SCALAR_BYTES[meta["dtype"]]
    sizes = [s["as_int"] for s in meta["sizes"]]
    strides = [s["as_int"] for s in meta["strides"]]
    offset = meta["storage_offset"]["as_int"]
    if nbytes % item:
        raise UnsafeProgramError(f"payload of {nbytes} bytes is not a multiple of {item}", field=at)
    if min(sizes, default=1) < 0 or min(strides, default=0) < 0 or offset < 0:
        raise UnsafeProgramError("negative size, stride or offset", field=at)
    if nbytes and min(sizes, default=1) > 0:
        need = (offset + sum((n - 1) * s for n, s in zip(sizes, strides, strict=True)) + 1) * item
        if need > nbytes:
            raise UnsafeProgramError(f"views {need} bytes of a {nbytes}-byte payload", field=at)


def _json(raw: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UnsafeProgramError(f"not JSON: {exc}", field=where) from exc
    if not isinstance(value, dict):
        raise UnsafeProgramError("not a JSON object", field=where)
    return value


def _fail(at: str, detail: str) -> NoReturn:
    raise UnsafeProgramError(detail, field=at)


# ------------------------------------------------------------------------------------- leaves


def _int(value: Any, at: str) -> None:
    if type(value) is not int:
        _fail(at, f"expected an integer, got {type(value).__name__}")


def _bool(value: Any, at: str) -> None:
    if type(value) is not bool:
        _fail(at, f"expected a boolean, got {type(value).__name__}")


def _float(value: Any, at: str) -> None:
    # serialize.py writes non-finite floats as these strings.
    if type(value) not in (int, float) and value not in ("Infinity", "-Infinity", "NaN"):
        _fail(at, f"expected a number, got {type(value).__name__}")


def _str(pattern: "re.Pattern[str] | None" = None, max_len: int = 1 << 16) -> Check:
    def check(value: Any, at: str) -> None:
        if not isinstance(value, str) or len(value) > max_len:
            _fail(at, f"expected a string of at most {max_len} characters")
        if pattern is not None and not pattern.fullmatch(value):
            _fail(at, f"{value[:80]!r} does not match {pattern.pattern}")

    return check


def _enum(allowed: set[int]) -> Check:
    def check(value: Any, at: str) -> None:
        if type(value) is not int or value not in allowed:
            _fail(at, f"{value!r} is not one of the schema's values")

    return check


def _optional(inner: Check) -> Check:
    def check(value: Any, at: str) -> None:
        if value is not None:
            inner(value, at)

    return check


def _list(item: Check) -> Check:
    def check(value: Any, at: str) -> None:
        if not isinstance(value, list):
            _fail(at, f"expected a list, got {type(value).__name__}")
        for i, element in enumerate(value):
            item(element, f"{at}[{i}]")

    return check


def _dict(value_check: Check, key: "re.Pattern[str]" = _NAME) -> Check:
    def check(value: Any, at: str) -> None:
        if not isinstance(value, dict):
            _fail(at, f"expected an object, got {type(value).__name__}")
        for k, v in value.items():
            if not key.fullmatch(k):
                _fail(f"{at}[{k[:80]!r}]", f"key does not match {key.pattern}")
            value_check(v, f"{at}[{k!r}]")

    return check


def _empty(value: Any, at: str) -> None:
    if value not in ({}, []):
        _fail(at, "must be empty (custom objects, subgraphs and named tuples are not accepted)")


def _struct(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    optional = optional or {}

    def check(value: Any, at: str) -> None:
        if not isinstance(value, dict):
            _fail(at, f"expected an object, got {type(value).__name__}")
        for k in value:
            if k not in required and k not in optional:
                _fail(f"{at}.{str(k)[:80]}", "unknown field")
        for k, sub in required.items():
            if k not in value:
                _fail(f"{at}.{k}", "required field is missing")
            sub(value[k], f"{at}.{k}")
        for k, sub in optional.items():
            if k in value:
                sub(value[k], f"{at}.{k}")

    return check


def _union(options: dict[str, Check]) -> Check:
    def check(value: Any, at: str) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            _fail(at, "expected an object with exactly one field")
        ((k, v),) = value.items()
        if k not in options:
            _fail(f"{at}.{str(k)[:80]}", f"not accepted here (one of {', '.join(sorted(options))})")
        options[k](v, f"{at}.{k}")

    return check


# ------------------------------------------------------------------------------ evaluated strings


def _target(value: Any, at: str) -> None:
    if not isinstance(value, str):
        _fail(at, "expected an operator name")
    m = _ATEN_TARGET.fullmatch(value)
    if (m is None or m.group(1) in _ATEN_DENIED) and value not in _PY_TARGETS:
        _fail(at, f"program calls {value[:120]!r}, not an ATen operator")


def _source_fn_stack(value: Any, at: str) -> None:
    if not isinstance(value, str):
        _fail(at, "expected a string")
    for i, item in enumerate(value.split(";")):
        if not _SOURCE_FN.fullmatch(item):
            _fail(f"{at}[{i}]", f"{item[:120]!r} is not 'name,dotted.path'")


def _json_text(value: Any, at: str) -> None:
    """Metadata torch hands to json.loads only (never evaluated): it must at least be JSON."""
    if not isinstance(value, str):
        _fail(at, "expected a string")
    try:
        json.loads(value)
    except (ValueError, RecursionError) as exc:
        _fail(at, f"not JSON: {exc}")


def _plain_text(value: Any, at: str) -> None:
    """Stored as is (stack traces, module paths): any string, bounded."""
    _str(max_len=1 << 16)(value, at)


def _guard(value: Any, at: str) -> None:
    if not isinstance(value, str) or len(value) > MAX_EXPR_CHARS:
        _fail(at, "expected a guard expression")
    pos = 0
    while pos < len(value.rstrip()):
        m = _GUARD_TOKEN.match(value, pos)
        if m is None or m.end() == pos:
            _fail(at, f"guard code {value[:120]!r}: unexpected text at offset {pos}")
        pos = m.end()


def _treespec(value: Any, at: str) -> None:
    """pytree's treespec_loads imports modules for some node types: only plain containers pass."""
    try:
        protocol, node = json.loads(value) if isinstance(value, str) else (None, None)
    except (ValueError, TypeError, RecursionError) as exc:
        _fail(at, f"not a treespec: {exc}")
    if protocol != 1:
        _fail(at, "treespec protocol must be 1")
    _treespec_node(node, at, 0)


def _treespec_node(node: Any, at: str, depth: int) -> None:
    if depth > MAX_DEPTH or not isinstance(node, dict) or set(node) != {"type", "context", "children_spec"}:
        _fail(at, "treespec node must be {type, context, children_spec}")
    kind, context, children = node["type"], node["context"], node["children_spec"]
    if not isinstance(children, list):
        _fail(at, "treespec children_spec must be a list")
    if kind is None:
        if context is not None or children:
            _fail(at, "a treespec leaf has no context or children")
        return
    if kind in ("builtins.tuple", "builtins.list"):
        if context != "null":
            _fail(at, f"{kind} takes no context")
    elif kind in ("builtins.dict", "collections.OrderedDict"):
        try:
            keys = json.loads(context) if isinstance(context, str) else None
        except (ValueError, RecursionError):
            keys = None
        if not isinstance(keys, list) or len(keys) != len(children):
            _fail(at, f"{kind} context must list one key per child")
        for key in keys:
            if type(key) not in (str, int):
                _fail(at, f"{kind} keys must be strings or integers (no objects)")
    else:
        _fail(at, f"treespec type {str(kind)[:80]!r} is not accepted (plain containers only)")
    for i, child in enumerate(children):
        _treespec_node(child, f"{at}.children_spec[{i}]", depth + 1)


class _ExprParser:
    """Recursive descent over `_EXPR_TOKEN`s; fails on anything outside the grammar."""

    def __init__(self, text: str, symbols: set[str], at: str) -> None:
        self.at, self.text, self.symbols = at, text, symbols
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = _EXPR_TOKEN.match(text, pos)
            if m is None:
                self.fail(f"unexpected text at offset {pos}")
            self.tokens.append(m.group(m.lastindex or 0))
            pos = m.end()
        self.i = 0

    def fail(self, why: str) -> NoReturn:
        _fail(self.at, f"symbolic expression {self.text[:120]!r}: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            self.fail(f"expected {expected or 'more'}, got {token!r}")
        self.i += 1
        return str(token)

    def parse(self) -> None:
        self.expr(0)
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()!r}")

    def expr(self, depth: int) -> None:
        self.term(depth)
        while self.peek() in ("+", "-"):
            self.take()
            self.term(depth)

    def term(self, depth: int) -> None:
        self.unary(depth)
        while self.peek() in ("*", "//", "%"):
            self.take()
            self.unary(depth)

    def unary(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.fail("nested too deeply")
        if self.peek() == "-":
            self.take()
            self.unary(depth + 1)
            return
        token = self.take()
        if token.isdigit():
            return
        if token == "(":
            self.expr(depth + 1)
            self.take(")")
            return
        if token in ("true", "false"):
            return
        if self.peek() != "(":
            if token not in self.symbols:
                self.fail(f"{token!r} is not a declared symbol")
            return
        self.take("(")
        if token == "Symbol":
            self.symbol()
        elif token == "Integer":
            if self.peek() == "-":
                self.take()
            if not self.take().isdigit():
                self.fail("Integer() takes a literal")
        elif token in _EXPR_FUNCTIONS:
            self.expr(depth + 1)
            while self.peek() == ",":
                self.take()
                self.expr(depth + 1)
        else:
            self.fail(f"{token!r} is not an accepted function")
        self.take(")")

    def symbol(self) -> None:
        name = self.take()
        if name[:1] != "'" or name[1:-1] not in self.symbols:
            self.fail(f"Symbol({name}) is not a declared symbol")
        while self.peek() == ",":
            self.take()
            if self.take() not in _SYMBOL_ASSUMPTIONS:
                self.fail("unknown Symbol assumption")
            self.take("=")
            if self.take() not in ("True", "False"):
                self.fail("Symbol assumptions are True or False")


# ---------------------------------------------------------------------------------- the schema


class _Graph:
    """The schema of models/model.json (torch/_export/serde/schema.py), narrowed to ATen programs."""

    def __init__(self, member: str) -> None:
        self.member = member
        self.symbols: set[str] = set()

    def expr(self, value: Any, at: str) -> None:
        if not isinstance(value, str) or len(value) > MAX_EXPR_CHARS:
            _fail(at, "expected a symbolic expression string")
        _ExprParser(value, self.symbols, at).parse()

    def range_constraints(self, value: Any, at: str) -> None:
        """Keys are symbols or (derived dimensions) expressions over them: looked up, never evaluated."""
        bounds = _struct({"min_val": _optional(_int), "max_val": _optional(_int)})
        if not isinstance(value, dict):
            _fail(at, "expected an object")
        for key, entry in value.items():
            if not _SYMBOL.fullmatch(key):
                self.expr(key, f"{at}[{key[:80]!r}]")
            bounds(entry, f"{at}[{key[:80]!r}]")

    def check(self, program: dict[str, Any]) -> None:
        ranges = program.get("range_constraints")
        if isinstance(ranges, dict):
            self.symbols = {k for k in ranges if isinstance(k, str) and _SYMBOL.fullmatch(k)}
        self.exported_program()(program, f"{self.member}: $")

    def tensor_meta(self, sym_int: Check) -> Check:
        return _struct(
            {
                "dtype": _enum(set(_SCALAR_BYTES)),
                "sizes": _list(sym_int),
                "requires_grad": _bool,
                "device": _struct({"type": _str(re.compile(r"[a-z]{1,16}"))}, {"index": _optional(_int)}),
                "strides": _list(sym_int),
                "storage_offset": sym_int,
                "layout": _enum(_LAYOUTS),
            }
        )

    def payload_meta(self, prefix: str) -> Check:
        def no_pickle(value: Any, at: str) -> None:
            if value is not False:
                _fail(at, "is a pickled object (use_pickle must be false)")

        concrete = _union({"as_int": _int})
        return _struct(
            {
                "path_name": _str(re.compile(rf"{prefix}_[0-9]+")),
                "is_param": _bool,
                "use_pickle": no_pickle,
                "tensor_meta": self.tensor_meta(concrete),
            }
        )

    def exported_program(self) -> Check:
        sym_expr = _struct(
            {"expr_str": self.expr},
            {"hint": _optional(_union({"as_int": _int, "as_bool": _bool, "as_float": _float}))},
        )
        sym_int = _union({"as_expr": sym_expr, "as_int": _int})
        sym_float = _union({"as_expr": sym_expr, "as_float": _float})
        sym_bool = _union({"as_expr": sym_expr, "as_bool": _bool})
        name = _str(_NAME)
        tensor_arg = _struct({"name": name})
        optional_tensor = _union({"as_tensor": tensor_arg, "as_none": _bool})
        sym_int_arg = _union({"as_name": name, "as_int": _int})
        sym_float_arg = _union({"as_name": name, "as_float": _float})
        sym_bool_arg = _union({"as_name": name, "as_bool": _bool})
        device = _struct({"type": _str(re.compile(r"[a-z]{1,16}"))}, {"index": _optional(_int)})
        argument = _union(
            {
                "as_none": _bool,
                "as_tensor": tensor_arg,
                "as_tensors": _list(tensor_arg),
                "as_int": _int,
                "as_ints": _list(_int),
                "as_float": _float,
                "as_floats": _list(_float),
                "as_string": _str(max_len=256),
                "as_strings": _list(_str(max_len=256)),
                "as_sym_int": sym_int_arg,
                "as_sym_ints": _list(sym_int_arg),
                "as_scalar_type": _enum(set(_SCALAR_BYTES)),
                "as_memory_format": _enum(_MEMORY_FORMATS),
                "as_layout": _enum(_LAYOUTS),
                "as_device": device,
                "as_bool": _bool,
                "as_bools": _list(_bool),
                "as_sym_bool": sym_bool_arg,
                "as_sym_bools": _list(sym_bool_arg),
                "as_optional_tensors": _list(optional_tensor),
                "as_operator": _target,
                "as_sym_float": sym_float_arg,
                "as_sym_floats": _list(sym_float_arg),
                "as_optional_tensor": optional_tensor,
                "as_complex": _struct({"real": _float, "imag": _float}),
                "as_nested_tensors": _list(_list(tensor_arg)),
                "as_int_lists": _list(_list(_int)),
                "as_float_lists": _list(_list(_float)),
            }
        )
        node_metadata = _struct(
            {},
            {
                "stack_trace": _plain_text,
                "nn_module_stack": _plain_text,
                "source_fn_stack": _source_fn_stack,
                "torch_fn": _plain_text,
                "custom": _json_text,
                "from_node": _json_text,
            },
        )
        node = _struct(
            {
                "target": _target,
                "inputs": _list(
                    _struct({"name": name, "arg": argument}, {"kind": _optional(_enum({0, 1, 2}))})
                ),
                "outputs": _list(argument),
                "metadata": node_metadata,
            },
            {"is_hop_single_tensor_return": _optional(_bool), "name": _optional(name)},
        )
        graph = _struct(
            {
                "inputs": _list(argument),
                "outputs": _list(argument),
                "nodes": _list(node),
                "tensor_values": _dict(self.tensor_meta(sym_int)),
                "sym_int_values": _dict(sym_int),
                "sym_bool_values": _dict(sym_bool),
            },
            {
                "is_single_tensor_return": _bool,
                "custom_obj_values": _empty,
                "sym_float_values": _dict(sym_float),
            },
        )
        fqn = _str(_FQN)
        user_arg = _struct({"arg": argument})
        input_spec = _union(
            {
                "user_input": user_arg,
                "parameter": _struct({"arg": tensor_arg, "parameter_name": fqn}),
                "buffer": _struct({"arg": tensor_arg, "buffer_name": fqn, "persistent": _bool}),
                "tensor_constant": _struct({"arg": tensor_arg, "tensor_constant_name": fqn}),
                "constant_input": _struct(
                    {
                        "name": name,
                        "value": _union(
                            {
                                "as_none": _bool,
                                "as_int": _int,
                                "as_float": _float,
                                "as_string": _str(max_len=256),
                                "as_bool": _bool,
                            }
                        ),
                    }
                ),
            }
        )
        output_spec = _union(
            {
                "user_output": user_arg,
                "loss_output": _struct({"arg": tensor_arg}),
                "buffer_mutation": _struct({"arg": tensor_arg, "buffer_name": fqn}),
                "parameter_mutation": _struct({"arg": tensor_arg, "parameter_name": fqn}),
                "gradient_to_parameter": _struct({"arg": tensor_arg, "parameter_name": fqn}),
                "gradient_to_user_input": _struct({"arg": tensor_arg, "user_input_name": name}),
                "user_input_mutation": _struct({"arg": tensor_arg, "user_input_name": name}),
            }
        )
        call_signature = _struct(
            {
                "inputs": _list(argument),
                "outputs": _list(argument),
                "in_spec": _treespec,
                "out_spec": _treespec,
            },
            {"forward_arg_names": _optional(_list(name))},
        )
        graph_module = _struct(
            {
                "graph": graph,
                "signature": _struct({"input_specs": _list(input_spec), "output_specs": _list(output_spec)}),
                "module_call_graph": _list(_struct({"fqn": fqn}, {"signature": _optional(call_signature)})),
            },
            {"metadata": _struct({}, {"custom": _json_text}), "treespec_namedtuple_fields": _empty},
        )

        def verifier(value: Any, at: str) -> None:
            if value not in _VERIFIERS:
                _fail(at, f"unknown verifier {str(value)[:40]!r}")

        def schema_major(value: Any, at: str) -> None:
            if value != _SCHEMA_MAJOR or type(value) is not int:
                _fail(at, f"schema major version must be {_SCHEMA_MAJOR}")

        return _struct(
            {
                "graph_module": graph_module,
                "opset_version": _dict(_int),
                "range_constraints": self.range_constraints,
                "schema_version": _struct({"major": schema_major, "minor": _int}),
            },
            {
                "verifiers": _list(verifier),
                "torch_version": _str(re.compile(r"[0-9A-Za-z.+_<=-]{1,64}")),
                "guards_code": _list(_guard),
            },
        )
