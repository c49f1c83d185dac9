"""trust: a sign-up's pending change awaiting confirmation, a session version per user,
and retries of sends whose outcome is unknown

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("pending_change", JSON, nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("retry_of", BIG, nullable=True))
        batch.add_column(sa.Column("retry_by", sa.String(320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("retry_by")
        batch.drop_column("retry_of")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("pending_change")
