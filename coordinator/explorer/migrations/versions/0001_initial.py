"""initial schema: events, jobs, slots, credits, accounts

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-01 06:28:59.051289
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("registered_block", sa.BigInteger(), nullable=True),
        sa.Column("registered_at", sa.BigInteger(), nullable=True),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("vram_mb", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("price_per_gpu_second", sa.String(length=80), nullable=False),
        sa.Column("metadata_digest", sa.String(length=66), nullable=True),
        sa.Column("staked", sa.String(length=80), nullable=False),
        sa.Column("locked", sa.String(length=80), nullable=False),
        sa.Column("unstaking", sa.String(length=80), nullable=False),
        sa.Column("slashed", sa.String(length=80), nullable=False),
        sa.Column("withdrawn", sa.String(length=80), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_accounts")),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_blocks")),
    )
    op.create_table(
        "credits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credits")),
    )
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.create_index("ix_credits_account", ["account"], unique=False)
        batch_op.create_index("ix_credits_job", ["job_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.Column("args", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_events_tx_hash_log_index")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_account", ["account", "block_number", "log_index"], unique=False)
        batch_op.create_index("ix_events_job", ["job_id", "block_number", "log_index"], unique=False)
        batch_op.create_index("ix_events_name", ["name", "block_number", "log_index"], unique=False)
        batch_op.create_index("ix_events_order", ["block_number", "log_index"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requester", sa.String(length=42), nullable=False),
        sa.Column("spec_digest", sa.String(length=66), nullable=False),
        sa.Column("payment", sa.String(length=80), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("collateral", sa.String(length=80), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("vram_mb", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("max_gpu_seconds", sa.BigInteger(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("fee_recipient", sa.String(length=42), nullable=True),
        sa.Column("claim_deadline", sa.BigInteger(), nullable=False),
        sa.Column("commit_deadline", sa.BigInteger(), nullable=False),
        sa.Column("reveal_deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_tx", sa.String(length=66), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.Column("revealed", sa.Integer(), nullable=False),
        sa.Column("concluded_at", sa.BigInteger(), nullable=True),
        sa.Column("winning_digest", sa.String(length=66), nullable=True),
        sa.Column("winners", sa.Integer(), nullable=True),
        sa.Column("reward_per_winner", sa.String(length=80), nullable=True),
        sa.Column("burned", sa.String(length=80), nullable=True),
        sa.Column("settler", sa.String(length=42), nullable=True),
        sa.Column("tip", sa.String(length=80), nullable=True),
        sa.Column("fail_reason", sa.String(length=16), nullable=True),
        sa.Column("paid_per_revealer", sa.String(length=80), nullable=True),
        sa.Column("refund", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_requester", ["requester", "job_id"], unique=False)
        batch_op.create_index("ix_jobs_spec_digest", ["spec_digest"], unique=False)
        batch_op.create_index("ix_jobs_state", ["state", "job_id"], unique=False)
        batch_op.create_index("ix_jobs_winning_digest", ["winning_digest"], unique=False)

    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "slots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("claimed_block", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False),
        sa.Column("collateral", sa.String(length=80), nullable=False),
        sa.Column("commitment", sa.String(length=66), nullable=True),
        sa.Column("committed_at", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(length=66), nullable=True),
        sa.Column("revealed_at", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reward", sa.String(length=80), nullable=False),
        sa.Column("slashed", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index("ix_slots_job", ["job_id", "slot"], unique=False)
        batch_op.create_index("ix_slots_provider", ["provider", "job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_provider")
        batch_op.drop_index("ix_slots_job")

    op.drop_table("slots")
    op.drop_table("meta")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_winning_digest")
        batch_op.drop_index("ix_jobs_state")
        batch_op.drop_index("ix_jobs_spec_digest")
        batch_op.drop_index("ix_jobs_requester")

    op.drop_table("jobs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_order")
        batch_op.drop_index("ix_events_name")
        batch_op.drop_index("ix_events_job")
        batch_op.drop_index("ix_events_account")

    op.drop_table("events")
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.drop_index("ix_credits_job")
        batch_op.drop_index("ix_credits_account")

    op.drop_table("credits")
    op.drop_table("blocks")
    op.drop_table("accounts")
