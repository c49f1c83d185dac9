"""retention: counts of pruned events and journey activity, the sweeps' cursors, folded
ledger rows

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_rollups',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('type', sa.String(length=80), nullable=False),
        sa.Column('machine', sa.Boolean(), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'type', 'machine', name=op.f('pk_event_rollups')),
    )
    op.create_table(
        'journey_activity_rollups',
        sa.Column('journey_version_id', sa.BigInteger(), nullable=False),
        sa.Column('step_id', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('journey_version_id', 'step_id', 'kind',
                                name=op.f('pk_journey_activity_rollups')),
    )
    op.create_table(
        'sweep_cursors',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('next_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_sweep_cursors')),
    )
    # A constant default: PostgreSQL adds the column without rewriting the ledger.
    with op.batch_alter_table('score_ledger') as batch:
        batch.add_column(sa.Column('entries', sa.Integer(), server_default='1',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('score_ledger') as batch:
        batch.drop_column('entries')
    op.drop_table('sweep_cursors')
    op.drop_table('journey_activity_rollups')
    op.drop_table('event_rollups')
