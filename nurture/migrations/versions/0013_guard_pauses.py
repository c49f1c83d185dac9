"""the guard: feedback attributed to sends, pauses of a source's marketing mail

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _only(condition: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('feedback_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_due_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_sends_journey_sent', ['journey_id', 'sent_at', 'feedback'],
                              unique=False)
        batch_op.create_index('ix_sends_feedback', ['feedback_at'], unique=False,
                              **_only('feedback_at IS NOT NULL'))
        batch_op.create_index('ix_sends_held', ['journey_id'], unique=False,
                              **_only('held_due_at IS NOT NULL'))
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_run_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_enrollments_held', ['journey_id'], unique=False,
                              **_only('held_run_at IS NOT NULL'))
    op.create_table(
        'pauses',
        sa.Column('id', BigId, nullable=False),
        sa.Column('source_kind', sa.String(length=20), nullable=False),
        sa.Column('source_id', sa.String(length=120), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('paused_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('paused_by', sa.String(length=320), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=True),
        sa.Column('complaint_rate', sa.Float(), nullable=True),
        sa.Column('bounce_rate', sa.Float(), nullable=True),
        sa.Column('resumed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('resumed_by', sa.String(length=320), nullable=True),
        sa.Column('resume_reason', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pauses_source', 'pauses', ['source_kind', 'source_id', 'resumed_at'],
                    unique=False)
    op.create_index('ux_pauses_active', 'pauses', ['source_kind', 'source_id'], unique=True,
                    **_only('resumed_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ux_pauses_active', table_name='pauses')
    op.drop_index('ix_pauses_source', table_name='pauses')
    op.drop_table('pauses')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_held')
        batch_op.drop_column('held_run_at')
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.drop_index('ix_sends_held')
        batch_op.drop_index('ix_sends_feedback')
        batch_op.drop_index('ix_sends_journey_sent')
        batch_op.drop_column('held_due_at')
        batch_op.drop_column('feedback_at')
        batch_op.drop_column('feedback')
