"""process heartbeats: which schedulers and workers run, and their clocks' skew

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 01:00:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import UTCDateTime

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'process_heartbeats',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('skew_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_process_heartbeats')),
    )


def downgrade() -> None:
    op.drop_table('process_heartbeats')
