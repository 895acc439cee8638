"""The explorer's tables: raw events, and the jobs, slots, credits and providers derived from them.

Token amounts are exact decimal strings: SQLite has no 256-bit integer and a float loses wei. Every
derived row is a function of the raw events of one job or one account, so a reorganisation is undone
by deleting the dropped events and replaying what is left for the jobs and accounts they touched.
"""

from sqlalchemy import BigInteger, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Amount = String(80)
Address = String(42)
Hash = String(66)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Meta(Base):
    """Key/value facts: the chain and deployment the database belongs to, the cursor, reorg count."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Block(Base):
    """Hashes of the newest scanned blocks, to find where a reorganisation forked."""

    __tablename__ = "blocks"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(Hash)


class Event(Base):
    """One log of JobMarket or Staking, decoded; `seq` grows with every insert (the live stream's cursor)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_events_order", "block_number", "log_index"),
        Index("ix_events_job", "job_id", "block_number", "log_index"),
        Index("ix_events_account", "account", "block_number", "log_index"),
        Index("ix_events_name", "name", "block_number", "log_index"),
        {"sqlite_autoincrement": True},
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(Hash)
    block_time: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    account: Mapped[str | None] = mapped_column(Address)
    args: Mapped[str] = mapped_column(Text)


class Job(Base):
    """A job as its events tell it: creation terms, where it stands, and how it ended."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state", "state", "job_id"),
        Index("ix_jobs_requester", "requester", "job_id"),
        Index("ix_jobs_winning_digest", "winning_digest"),
        Index("ix_jobs_spec_digest", "spec_digest"),
    )
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    requester: Mapped[str] = mapped_column(Address)
    spec_digest: Mapped[str] = mapped_column(Hash)
    payment: Mapped[str] = mapped_column(Amount)
    replicas: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    collateral: Mapped[str] = mapped_column(Amount)
    gpu_count: Mapped[int] = mapped_column(Integer)
    vram_mb: Mapped[int] = mapped_column(BigInteger)
    tier: Mapped[int] = mapped_column(Integer)
    max_gpu_seconds: Mapped[int] = mapped_column(BigInteger)
    fee_bps: Mapped[int] = mapped_column(Integer)
    fee_recipient: Mapped[str | None] = mapped_column(Address)
    claim_deadline: Mapped[int] = mapped_column(BigInteger)
    commit_deadline: Mapped[int] = mapped_column(BigInteger)
    reveal_deadline: Mapped[int] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(Hash)
    state: Mapped[str] = mapped_column(String(16))
    updated_block: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    committed: Mapped[int] = mapped_column(Integer, default=0)
    revealed: Mapped[int] = mapped_column(Integer, default=0)
    concluded_at: Mapped[int | None] = mapped_column(BigInteger)
    winning_digest: Mapped[str | None] = mapped_column(Hash)
    winners: Mapped[int | None] = mapped_column(Integer)
    reward_per_winner: Mapped[str | None] = mapped_column(Amount)
    burned: Mapped[str | None] = mapped_column(Amount)
    settler: Mapped[str | None] = mapped_column(Address)
    tip: Mapped[str | None] = mapped_column(Amount)
    fail_reason: Mapped[str | None] = mapped_column(String(16))
    paid_per_revealer: Mapped[str | None] = mapped_column(Amount)
    refund: Mapped[str | None] = mapped_column(Amount)
    # How reveals are compared (docs/VERIFICATION.md): "exact" digests or "tolerant" fingerprints within
    # `tolerance` bits; an exact job's class (named at creation, or fixed by its first claim).
    verification: Mapped[str] = mapped_column(String(16), default="exact")
    tolerance: Mapped[int] = mapped_column(Integer, default=0)
    device_class: Mapped[str | None] = mapped_column(Hash)
    # Escrowed on top of the payment to pay a re-run of 2k + 1 fresh slots when round 1 disagrees.
    reserve: Mapped[str] = mapped_column(Amount, default="0")
    # Round 1 disagreed: the re-run's slots are [replicas, replicas + rerun_slots), and the job's
    # claimed/committed/revealed count the re-run (as getJob does); round 1's deadlines are kept above.
    escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[int | None] = mapped_column(BigInteger)
    rerun_slots: Mapped[int | None] = mapped_column(Integer)
    rerun_claim_deadline: Mapped[int | None] = mapped_column(BigInteger)
    rerun_commit_deadline: Mapped[int | None] = mapped_column(BigInteger)
    rerun_reveal_deadline: Mapped[int | None] = mapped_column(BigInteger)
    # The re-run never filled: its claims were released and round 1 decided by its vote.
    rerun_unfilled: Mapped[bool] = mapped_column(default=False)
    # RerunPaid: re-run winners, what each got from the reserve, and the reserve refunded.
    rerun_winners: Mapped[int | None] = mapped_column(Integer)
    rerun_reward: Mapped[str | None] = mapped_column(Amount)
    rerun_refund: Mapped[str | None] = mapped_column(Amount)


class Slot(Base):
    """One claim of a slot: who, when, its commitment and digest, and what it earned or lost."""

    __tablename__ = "slots"
    __table_args__ = (
        Index("ix_slots_job", "job_id", "slot"),
        Index("ix_slots_provider", "provider", "job_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger)
    slot: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(Address)
    claimed_block: Mapped[int] = mapped_column(BigInteger)
    claimed_at: Mapped[int] = mapped_column(BigInteger)
    collateral: Mapped[str] = mapped_column(Amount, default="0")
    commitment: Mapped[str | None] = mapped_column(Hash)
    committed_at: Mapped[int | None] = mapped_column(BigInteger)
    digest: Mapped[str | None] = mapped_column(Hash)
    # What ResultRevealed carried besides the digest (compared only in tolerant jobs).
    fingerprint: Mapped[str | None] = mapped_column(Hash)
    revealed_at: Mapped[int | None] = mapped_column(BigInteger)
    # pending, paid, slashed, abandoned, released (unlocked with neither pay nor slash)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    reward: Mapped[str] = mapped_column(Amount, default="0")
    slashed: Mapped[str] = mapped_column(Amount, default="0")


class Credit(Base):
    """Tokens the JobMarket credited to an account's claimable balance, and why."""

    __tablename__ = "credits"
    __table_args__ = (Index("ix_credits_account", "account"), Index("ix_credits_job", "job_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(Address)
    # reward, tip, fee, refund
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[str] = mapped_column(Amount)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int] = mapped_column(BigInteger)


class Account(Base):
    """An account's Staking record (a provider when `registered`) and its withdrawals from the market."""

    __tablename__ = "accounts"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    registered: Mapped[bool] = mapped_column(default=False)
    registered_block: Mapped[int | None] = mapped_column(BigInteger)
    registered_at: Mapped[int | None] = mapped_column(BigInteger)
    gpu_count: Mapped[int] = mapped_column(Integer, default=0)
    vram_mb: Mapped[int] = mapped_column(BigInteger, default=0)
    tier: Mapped[int] = mapped_column(Integer, default=0)
    price_per_gpu_second: Mapped[str] = mapped_column(Amount, default="0")
    metadata_digest: Mapped[str | None] = mapped_column(Hash)
    # The determinism class its devices registered (docs/VERIFICATION.md); zero = unknown.
    device_class: Mapped[str | None] = mapped_column(Hash)
    staked: Mapped[str] = mapped_column(Amount, default="0")
    locked: Mapped[str] = mapped_column(Amount, default="0")
    unstaking: Mapped[str] = mapped_column(Amount, default="0")
    slashed: Mapped[str] = mapped_column(Amount, default="0")
    withdrawn: Mapped[str] = mapped_column(Amount, default="0")
    updated_block: Mapped[int] = mapped_column(BigInteger, default=0)
