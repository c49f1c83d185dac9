"""contact lists: named static sets of contacts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:20:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_lists',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'list_members',
        sa.Column('list_id', BigId, sa.ForeignKey('contact_lists.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('contact_id', BigId, sa.ForeignKey('contacts.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('added_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint('list_id', 'contact_id'),
    )
    op.create_index('ix_list_members_contact', 'list_members', ['contact_id'])


def downgrade() -> None:
    op.drop_index('ix_list_members_contact', table_name='list_members')
    op.drop_table('list_members')
    op.drop_table('contact_lists')
