"""Revert payloads decode into readable errors: Error(string), Panic and custom errors."""

from eth_abi.abi import encode

from neurolink.chain.revert import decode_revert, revert_error


def test_error_string() -> None:
    data = "0x08c379a0" + encode(["string"], ["nope"]).hex()
    assert decode_revert(data) == ("Error", {"reason": "nope"})


def test_panic_names_the_reason() -> None:
    data = bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])
    name, args = decode_revert(data)
    assert name == "Panic"
    assert args["reason"] == "arithmetic overflow or underflow"


def test_unknown_selector_says_so() -> None:
    error = revert_error("claim", "0xdeadbeef")
    assert error.error_name is None
    assert "claim reverted without a reason" in str(error)
