"""NeuroLink's three contracts bound from a deployment, and when a job is due for settlement."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.chain.artifacts import contract_at
from neurolink.protocol.views import JobPhase, JobStatus, read_job, read_phase

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

    from neurolink.chain.deployments import Deployment
    from neurolink.protocol.deploy import Protocol
    from neurolink.protocol.views import JobView


def due_at(job: "JobView") -> int | None:
    """When anyone may next move `job` on by `settle` (None once it is closed)."""
    if job.status != JobStatus.OPEN:
        return None
    if job.claimed < max(job.quorum, 1):
        return job.claim_deadline + 1  # expires (nobody) or fails (too few) after the claim window
    return job.reveal_deadline + 1  # silent slots cannot hold it past the reveal window


def closed(phase: JobPhase) -> bool:
    """Whether a job in `phase` is over (settled, failed, cancelled or expired)."""
    return phase >= JobPhase.SETTLED


@dataclass(frozen=True)
class Contracts:
    """Token, Staking and JobMarket of one deployment, bound to one web3 connection."""

    w3: "Web3"
    token: "Contract"
    staking: "Contract"
    market: "Contract"

    @classmethod
    def bind(cls, w3: "Web3", deployment: "Deployment") -> "Contracts":
        # The token may be any ERC-20; NeuroToken's ABI covers ERC-20 and permit.
        return cls(
            w3,
            contract_at(w3, "NeuroToken", deployment.token.address),
            contract_at(w3, "Staking", deployment.staking.address),
            contract_at(w3, "JobMarket", deployment.job_market.address),
        )

    def as_protocol(self) -> "Protocol":
        """The same handles as neurolink.protocol's helpers take them."""
        from neurolink.protocol.deploy import Protocol

        return Protocol(token=self.token, staking=self.staking, market=self.market)

    def job(self, job_id: int) -> "JobView":
        return read_job(self.market, job_id)

    def phase(self, job_id: int) -> JobPhase:
        return read_phase(self.market, job_id)

    def next_job_id(self) -> int:
        return int(self.market.functions.nextJobId().call())
