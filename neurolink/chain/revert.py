"""Decodes revert data into a custom error's name and arguments, with Error(string) and Panic."""

from functools import cache
from typing import TYPE_CHECKING, Any

from neurolink.chain.artifacts import all_abis
from neurolink.chain.errors import TransactionRevertedError

if TYPE_CHECKING:
    from web3.exceptions import ContractLogicError

ERROR_STRING = bytes.fromhex("08c379a0")
PANIC = bytes.fromhex("4e487b71")
PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def _signature(entry: dict[str, Any]) -> str:
    def typ(inp: dict[str, Any]) -> str:
        if inp["type"].startswith("tuple"):
            return "(" + ",".join(typ(c) for c in inp["components"]) + ")" + str(inp["type"][5:])
        return str(inp["type"])

    return str(entry["name"]) + "(" + ",".join(typ(i) for i in entry["inputs"]) + ")"


@cache
def _error_table() -> dict[bytes, dict[str, Any]]:
    from eth_utils.crypto import keccak

    table: dict[bytes, dict[str, Any]] = {}
    for abi in all_abis():
        for entry in abi:
            if entry.get("type") == "error":
                table[keccak(text=_signature(entry))[:4]] = entry
    return table


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, dict):
        data = data.get("data", "")
    if isinstance(data, bytes):
        return data
    text = str(data or "")
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def decode_revert(data: Any) -> tuple[str, dict[str, Any]]:
    """(name, args) of the revert payload; ("", {}) when it carries nothing recognisable."""
    from eth_abi.abi import decode

    raw = _as_bytes(data)
    selector, body = raw[:4], raw[4:]
    if selector == ERROR_STRING:
        return "Error", {"reason": decode(["string"], body)[0]}
    if selector == PANIC:
        code = decode(["uint256"], body)[0]
        return "Panic", {"code": code, "reason": PANIC_REASONS.get(code, "unknown panic")}
    entry = _error_table().get(selector)
    if entry is None:
        return "", {}
    # "(type)" of a nameless one-input signature, minus the parentheses: "address", "(uint16,uint32)".
    values = decode([_signature({"name": "", "inputs": [i]})[1:-1] for i in entry["inputs"]], body)
    from eth_utils.address import to_checksum_address

    return entry["name"], {
        i["name"] or f"arg{n}": to_checksum_address(v) if i["type"] == "address" else v
        for n, (i, v) in enumerate(zip(entry["inputs"], values, strict=True))
    }


def revert_error(action: str, data: Any, fallback: str = "") -> TransactionRevertedError:
    """A TransactionRevertedError that names the custom error and its values."""
    name, args = decode_revert(data)
    if name:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        return TransactionRevertedError(
            f"{action} reverted: {name}({shown})", error_name=name, args=args, data=str(data)
        )
    return TransactionRevertedError(
        f"{action} reverted{': ' + fallback if fallback else ' without a reason'}", data=str(data)
    )


def logic_error(action: str, exc: "ContractLogicError") -> TransactionRevertedError:
    """web3's ContractLogicError (a revert seen by estimate_gas, eth_call or build) as our decoded error."""
    return revert_error(action, exc.data, str(exc.message or ""))


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)
