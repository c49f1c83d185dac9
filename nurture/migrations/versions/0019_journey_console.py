"""journey console: who published a version and why; an index and rollups for its counts

Revision ID: 0019_journey_console
Revises: 0018
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import Json, UTCDateTime

revision = '0019_journey_console'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('journey_versions') as batch:
        batch.add_column(sa.Column('published_by', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))
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
    with op.batch_alter_table('journey_versions') as batch:
        batch.drop_column('note')
        batch.drop_column('published_by')
