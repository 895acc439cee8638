"""The API's response models (they are the OpenAPI schema); token amounts are decimal strings in wei."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["claiming", "committing", "revealing", "settled", "failed", "cancelled", "expired"]
Wei = str


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(Out):
    status: Literal["ok"]
    chain_id: int | None
    indexed_block: int | None = Field(description="The last block whose events are all indexed.")
    head: int | None
    lag_blocks: int | None
    reorgs: int
    polled_at: float | None


class JobSummary(Out):
    job_id: int
    state: JobState
    requester: str
    payment: Wei
    replicas: int
    quorum: int
    collateral: Wei
    gpu_count: int
    vram_mb: int
    tier: int
    max_gpu_seconds: int
    claimed: int
    committed: int
    revealed: int
    created_block: int
    created_at: int
    updated_at: int
    concluded_at: int | None
    spec_digest: str
    winning_digest: str | None
    verification: Literal["exact", "tolerant"] = Field(
        description="Reveals compared by digest (exact) or by fingerprint within a tolerance."
    )
    escalated: bool = Field(description="Round 1 disagreed and the job was re-run by 2k + 1 fresh slots.")


class JobPage(Out):
    items: list[JobSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class TimelineEntry(Out):
    seq: int
    name: str
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
    account: str | None
    args: dict[str, Any]


class SlotOut(Out):
    slot: int
    provider: str
    claimed_at: int
    claimed_block: int
    collateral: Wei
    commitment: str | None
    committed_at: int | None
    digest: str | None
    fingerprint: str | None = Field(description="Revealed with the digest; compared in tolerant jobs.")
    revealed_at: int | None
    outcome: Literal["pending", "paid", "slashed", "abandoned", "released"]
    reward: Wei
    slashed: Wei
    round: Literal[1, 2] = Field(description="1, or 2 for a slot of the re-run of an escalated job.")


class Escalation(Out):
    """The re-run of a job whose round 1 disagreed (docs/VERIFICATION.md)."""

    escalated_at: int
    first_slot: int
    slots: int
    claim_deadline: int
    commit_deadline: int
    reveal_deadline: int
    outcome: Literal["running", "paid", "unfilled"] = Field(
        description="paid: it decided the job; unfilled: it never filled, round 1 decided by its vote."
    )
    winners: int | None = Field(description="Re-run slots paid from the reserve.")
    reward_per_winner: Wei | None
    refund: Wei | None = Field(description="The reserve not paid out, credited back to the requester.")


class CreditOut(Out):
    job_id: int
    account: str
    kind: Literal["reward", "tip", "fee", "refund"]
    amount: Wei
    block_number: int
    block_time: int


class Cids(Out):
    raw: str
    dag_pb: str


class JobDetail(JobSummary):
    fee_bps: int
    fee_recipient: str | None
    claim_deadline: int
    commit_deadline: int
    reveal_deadline: int
    created_tx: str
    winners: int | None
    reward_per_winner: Wei | None
    burned: Wei | None
    settler: str | None
    tip: Wei | None
    fail_reason: Literal["UnderClaimed", "NoQuorum"] | None
    paid_per_revealer: Wei | None
    refund: Wei | None
    tolerance: int = Field(description="Tolerant jobs: the largest Hamming distance (bits) that matches.")
    device_class: str | None = Field(
        description="Exact jobs: the determinism class every slot has (named, or fixed by the first claim)."
    )
    reserve: Wei = Field(description="Escrowed to pay a re-run if round 1 disagrees; 0: the vote decides.")
    escalation: Escalation | None
    spec_cids: Cids
    result_cids: Cids | None = Field(
        description="The result's CID under each file codec (the digest names both)."
    )
    slots: list[SlotOut]
    credits: list[CreditOut]
    timeline: list[TimelineEntry]


class ProviderSummary(Out):
    address: str
    registered: bool
    gpu_count: int
    vram_mb: int
    tier: int
    price_per_gpu_second: Wei
    staked: Wei
    locked: Wei
    unstaking: Wei
    slashed: Wei
    earned: Wei = Field(description="Rewards and tips credited by the JobMarket.")
    withdrawn: Wei
    jobs: int
    jobs_paid: int
    jobs_slashed: int


class ProviderPage(Out):
    items: list[ProviderSummary]
    next_cursor: str | None


class ProviderJob(Out):
    job_id: int
    slot: int
    state: JobState
    claimed_at: int
    outcome: Literal["pending", "paid", "slashed", "abandoned", "released"]
    reward: Wei
    slashed: Wei


class ProviderDetail(ProviderSummary):
    registered_at: int | None
    metadata_digest: str | None
    device_class: str | None = Field(description="Determinism class its devices registered; zero = unknown.")
    claimable: Wei = Field(description="Credited by the JobMarket and not yet withdrawn.")
    history: list[ProviderJob]
    credits: list[CreditOut]


class HourCount(Out):
    hour: int
    count: int


class Stats(Out):
    jobs_total: int
    jobs_by_state: dict[str, int]
    settled_per_hour: list[HourCount]
    median_submit_to_settled_s: float | None
    providers: int
    total_staked: Wei
    total_slashed: Wei
    total_paid: Wei
    indexed_block: int | None
    head: int | None


class PricePoint(Out):
    start: int
    jobs: int
    gpu_seconds: int = Field(description="GPU-seconds asked for by the jobs created in the bucket.")
    payment: Wei
    price_median: Wei | None = Field(description="Median payment per GPU-second per replica.")
    price_min: Wei | None
    price_max: Wei | None
    open_jobs: int = Field(description="Jobs not yet concluded at the bucket's end.")


class Prices(Out):
    bucket_seconds: int
    points: list[PricePoint]


class SearchHit(Out):
    kind: Literal["job", "provider", "account"]
    id: str
    url: str
    why: str


class SearchResult(Out):
    query: str
    hits: list[SearchHit]


class Problem(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
