"""idempotency keys: the API's answers to POSTs that carried one, replayed to retries

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 00:45:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('scoped', sa.String(length=64), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=True),
        sa.Column('location', sa.Text(), nullable=True),
        sa.Column('response_body', sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('scoped', name=op.f('uq_idempotency_keys_scoped')),
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys',
                    ['created_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
