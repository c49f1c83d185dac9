"""send lanes: transactional and service mail is delivered apart from marketing

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

PRIORITY_DUE = "due_at IS NOT NULL AND lease_until IS NULL AND lane = 'priority'"


def upgrade() -> None:
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.String(length=8), nullable=False,
                                      server_default='bulk'))
    # The lane follows the class (nurture/sending/lanes.py): only marketing is bulk.
    op.execute("UPDATE sends SET lane = 'priority' WHERE message_class <> 'marketing'")
    op.create_index('ix_sends_priority_due', 'sends', ['due_at'],
                    postgresql_where=sa.text(PRIORITY_DUE), sqlite_where=sa.text(PRIORITY_DUE))


def downgrade() -> None:
    op.drop_index('ix_sends_priority_due', table_name='sends')
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.drop_column('lane')
