"""jobs: verification mode, tolerance, class, reserve and the re-run; slots.fingerprint (issue 12)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RERUN = (
    "escalated_at",
    "rerun_slots",
    "rerun_claim_deadline",
    "rerun_commit_deadline",
    "rerun_reveal_deadline",
    "rerun_winners",
    "rerun_reward",
    "rerun_refund",
)


def upgrade() -> None:
    # Jobs indexed before protocol v3 were all exact, without a class or a reserve.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("verification", sa.String(length=16), nullable=False, server_default="exact")
        )
        batch.add_column(sa.Column("tolerance", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("device_class", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("reserve", sa.String(length=80), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("escalated_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rerun_slots", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rerun_claim_deadline", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rerun_commit_deadline", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rerun_reveal_deadline", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rerun_unfilled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("rerun_winners", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rerun_reward", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("rerun_refund", sa.String(length=80), nullable=True))
    with op.batch_alter_table("slots") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        batch.drop_column("fingerprint")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "verification",
            "tolerance",
            "device_class",
            "reserve",
            "escalated",
            "rerun_unfilled",
            *RERUN,
        ):
            batch.drop_column(column)
