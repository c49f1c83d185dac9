"""broadcast subjects: an A/B test's arms may differ by subject line

A broadcast keeps each arm's subject line (`subjects`, beside `templates`; "" for the
template's own), and a send keeps the subject it was sent with when an arm overrode the
template's (`sends.subject`), so that rendering needs nothing of broadcasts.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import Json

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('broadcasts', sa.Column('subjects', Json, nullable=True))
    # Nullable, no default: adding it rewrites no row of a large sends table.
    op.add_column('sends', sa.Column('subject', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sends') as batch:
        batch.drop_column('subject')
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('subjects')
