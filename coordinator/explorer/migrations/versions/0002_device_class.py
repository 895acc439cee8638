"""accounts.device_class: the determinism class a provider registered (issue 12)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("device_class", sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("device_class")
