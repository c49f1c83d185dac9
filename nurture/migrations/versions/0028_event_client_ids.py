"""event client ids: an API client's own id for an event, so that a retry records nothing

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('events', sa.Column('client_id', sa.String(length=100), nullable=True))
    op.create_index(op.f('ix_events_client_id'), 'events', ['client_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_events_client_id'), table_name='events')
    with op.batch_alter_table('events') as batch:
        batch.drop_column('client_id')
