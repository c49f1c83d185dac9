"""broadcasts, and the broadcast of a send

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, Json, UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _where(text: str) -> dict:
    return {"postgresql_where": sa.text(text), "sqlite_where": sa.text(text)}


def upgrade() -> None:
    op.create_table(
        'broadcasts',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('audience_id', sa.Integer(), nullable=False),
        sa.Column('audience_name', sa.String(length=120), nullable=False),
        sa.Column('templates', Json, nullable=False),
        sa.Column('topic', sa.String(length=40), nullable=False),
        sa.Column('timing', sa.String(length=10), nullable=False),
        sa.Column('send_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('local_time', sa.String(length=5), nullable=True),
        sa.Column('sample_percent', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=10), nullable=False),
        sa.Column('window_hours', sa.Integer(), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('winner_due_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('winner', sa.String(length=1), nullable=True),
        sa.Column('winner_reason', sa.String(length=400), nullable=True),
        sa.Column('winner_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('winner_by', sa.String(length=320), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('cancelled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by', sa.String(length=320), nullable=True),
        sa.Column('never_sent', sa.Integer(), nullable=True),
    )
    op.create_index('ix_broadcasts_winner_due', 'broadcasts', ['winner_due_at'],
                    **_where('winner_due_at IS NOT NULL'))
    op.add_column('sends', sa.Column('broadcast_id', BigId, nullable=True))
    op.create_index('ix_sends_broadcast', 'sends', ['broadcast_id', 'status'],
                    **_where('broadcast_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_sends_broadcast', table_name='sends')
    with op.batch_alter_table('sends') as batch:
        batch.drop_column('broadcast_id')
    op.drop_index('ix_broadcasts_winner_due', table_name='broadcasts')
    op.drop_table('broadcasts')
