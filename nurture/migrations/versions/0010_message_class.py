"""message class: each send is transactional, service or marketing

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_class', sa.String(length=16), nullable=False,
                                      server_default='marketing'))
    # The old flag said transactional or not; service mail was sent as either.
    op.execute("UPDATE sends SET message_class = 'transactional' WHERE transactional")
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.alter_column('message_class', server_default=None)
        batch_op.drop_column('transactional')


def downgrade() -> None:
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transactional', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE sends SET transactional = (message_class <> 'marketing')")
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.alter_column('transactional', server_default=None)
        batch_op.drop_column('message_class')
