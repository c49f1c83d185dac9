"""journey console: an index and rollups for a journey's counts (who published a version
and why came with 0020)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import Json, UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A journey's enrollments, for its console counts; only the journey id, which never
    # changes, so that advancing an enrollment stays a HOT update.
    op.create_index('ix_enrollments_journey', 'enrollments', ['journey_id'])
    op.create_table(
        'journey_rollups',
        sa.Column('journey_id', sa.String(length=120), nullable=False),
        sa.Column('figures', Json, nullable=False),
        sa.Column('computed_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('journey_id', name=op.f('pk_journey_rollups')),
    )


def downgrade() -> None:
    op.drop_table('journey_rollups')
    op.drop_index('ix_enrollments_journey', table_name='enrollments')
