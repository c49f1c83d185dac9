"""sends by the time they were sent: the console's charts of sends per day

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 22:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_sends_sent_at', 'sends', ['sent_at'],
                    postgresql_where=sa.text('sent_at IS NOT NULL'),
                    sqlite_where=sa.text('sent_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_sends_sent_at', table_name='sends')
