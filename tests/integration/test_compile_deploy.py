"""The contract build through the solc-js shim, deployed to a real anvil and called."""

from pathlib import Path

import pytest
from web3 import Web3

from neurolink.chain.errors import TransactionRevertedError
from neurolink.compiler.build import build
from neurolink.devnet.accounts import dev_account
from neurolink.errors import CompilerError

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Counter {
    error CounterTooLarge(uint256 value, uint256 limit);
    uint256 public count;
    function add(uint256 by) external {
        if (count + by > 100) revert CounterTooLarge(count + by, 100);
        count += by;
    }
}
"""


def test_build_deploy_call_and_decode_revert(
    tmp_path: Path, w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Counter.sol").write_text(COUNTER)
    out = tmp_path / "artifacts"

    first = build(src, out)
    second = build(src, out)
    assert first.compiled and first.contracts == ("Counter",)
    assert not second.compiled, "unchanged sources must not be compiled again"

    monkeypatch.setenv("NEUROLINK_ARTIFACTS", str(out))
    from neurolink.chain import artifacts, revert
    from neurolink.chain.tx import TxSender

    artifacts.load_artifact.cache_clear()
    revert._error_table.cache_clear()
    sender = TxSender(w3, dev_account(0))
    counter = sender.deploy("Counter")
    sender.transact(counter.functions.add(40))
    assert counter.functions.count().call() == 40

    with pytest.raises(TransactionRevertedError) as info:
        sender.transact(counter.functions.add(70))
    assert info.value.error_name == "CounterTooLarge"
    assert info.value.error_args == {"value": 110, "limit": 100}
    assert "CounterTooLarge(value=110, limit=100)" in str(info.value)
    artifacts.load_artifact.cache_clear()
    revert._error_table.cache_clear()


def test_syntax_error_is_reported_with_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Broken {\n"
        "    function f() external { uint x = ; }\n}\n"
    )
    with pytest.raises(CompilerError) as info:
        build(src, tmp_path / "out")
    message = str(info.value)
    assert "ParserError" in message
    assert "contracts/Broken.sol:4:" in message
