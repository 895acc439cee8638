"""NeuroLink's three contracts bound to one connection (the one Python binding), and when a job is due."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurolink.chain.artifacts import contract_at
from neurolink.protocol.views import JobPhase, JobStatus, read_job, read_phase

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

    from neurolink.chain.deployments import Deployment
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
    def at(cls, w3: "Web3", *, token: str, staking: str, job_market: str) -> "Contracts":
        # The token may be any ERC-20; NeuroToken's ABI covers ERC-20 and permit.
        return cls(
            w3,
            contract_at(w3, "NeuroToken", token),
            contract_at(w3, "Staking", staking),
            contract_at(w3, "JobMarket", job_market),
        )

    @classmethod
    def bind(cls, w3: "Web3", deployment: "Deployment") -> "Contracts":
        """The contracts a deployments file records."""
        return cls.at(
            w3,
            token=deployment.token.address,
            staking=deployment.staking.address,
            job_market=deployment.job_market.address,
        )

    @classmethod
    def of(cls, w3: "Web3", *, job_market: str, staking: str) -> "Contracts":
        """The contracts of a market known by address (a node's config): the token is Staking's."""
        token = str(contract_at(w3, "Staking", staking).functions.token().call())
        return cls.at(w3, token=token, staking=staking, job_market=job_market)

    def on(self, w3: "Web3") -> "Contracts":
        """The same contracts through another connection (e.g. after a chain restart)."""
        addresses = {"token": self.token.address, "staking": self.staking.address}
        return Contracts.at(w3, **addresses, job_market=self.market.address)

    def job(self, job_id: int) -> "JobView":
        return read_job(self.market, job_id)

    def phase(self, job_id: int) -> JobPhase:
        return read_phase(self.market, job_id)

    def next_job_id(self) -> int:
        return int(self.market.functions.nextJobId().call())
