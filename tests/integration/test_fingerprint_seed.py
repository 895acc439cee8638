"""A node that never saw an escalated job's JobCreated finds its seed by walking back from the re-run's
block in ranges a public RPC accepts, no further than the deployment."""

import hashlib
from dataclasses import replace
from typing import Any

import pytest

from neurolink.chain import watcher
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.compiler.build import BuildResult
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import Anvil, rpc_call
from neurolink.protocol.deploy import deploy_protocol
from neurolink.protocol.devnet import fund
from neurolink.protocol.events import created_job_id
from neurolink.protocol.params import JobParams, Requirements
from node.daemon.market import Market

E18 = 10**18


def test_the_seed_of_an_escalated_job_is_found_in_capped_log_ranges(
    fresh_anvil: Anvil, contracts_built: BuildResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    w3 = connect(fresh_anvil.rpc_url)
    deployer, requester = TxSender(w3, dev_account(0)), TxSender(w3, dev_account(1))
    protocol = deploy_protocol(deployer)
    deploy_block = w3.eth.block_number
    fund(protocol, deployer, requester, 100 * E18)
    params = JobParams(
        spec_digest=hashlib.sha256(b"spec").digest(),
        payment=10 * E18,
        replicas=1,
        collateral=E18,
        requirements=Requirements(gpu_count=1, vram_mb=1, tier=0, max_gpu_seconds=60),
    )
    receipt = requester.transact(protocol.market.functions.createJob(params.as_tuple()))
    job_id = created_job_id(protocol.market, receipt)
    # The re-run is drawn far later than the job was created: more blocks than one log range holds
    # (a range of 50 blocks here, as a range of 2,000 against a chain thousands of blocks long).
    monkeypatch.setattr(watcher, "MAX_RANGE", 50)
    rpc_call(fresh_anvil.rpc_url, "anvil_mine", [hex(3 * watcher.MAX_RANGE)])
    rerun_block = w3.eth.block_number

    # The stand-in for a public RPC: anvil itself has no cap on a log query's block range.
    ranges: list[tuple[int, int]] = []
    real_get_logs = w3.eth.get_logs

    def capped_get_logs(query: Any) -> Any:
        first, last = int(query["fromBlock"]), int(query["toBlock"])
        if last - first + 1 > watcher.MAX_RANGE:
            raise ValueError(f"query exceeds max block range {watcher.MAX_RANGE}")
        ranges.append((first, last))
        return real_get_logs(query)

    monkeypatch.setattr(w3.eth, "get_logs", capped_get_logs)
    market = Market(protocol, first_block=deploy_block)
    escalated = replace(market.job(job_id), escalated=True, created_block=rerun_block)
    assert market.fingerprint_seed(escalated) == bytes(receipt["blockHash"])
    assert ranges[0][1] == rerun_block and len(ranges) == 4, "newest range first, down to the creation"
    assert market.fingerprint_seed(escalated) == bytes(receipt["blockHash"]) and len(ranges) == 4, "cached"

    # The floor is the deployment's block: nothing of the market is older, so no range below it is read.
    later = Market(protocol, first_block=receipt["blockNumber"] + 1)
    ranges.clear()
    with pytest.raises(LookupError, match=f"since block {receipt['blockNumber'] + 1}"):
        later.fingerprint_seed(escalated)
    assert min(first for first, _ in ranges) == receipt["blockNumber"] + 1
