"""journey version notes: who published each version, their note, and the version it was
edited from

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('journey_versions') as batch:
        batch.add_column(sa.Column('published_by', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch.add_column(sa.Column('based_on', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('journey_versions') as batch:
        batch.drop_column('based_on')
        batch.drop_column('note')
        batch.drop_column('published_by')
