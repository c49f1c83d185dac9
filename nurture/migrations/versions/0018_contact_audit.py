"""contact audit: who changed which field of a contact, when

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_changes',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('contact_id', BigId, nullable=False),
        sa.Column('field', sa.String(length=200), nullable=False),
        sa.Column('old', sa.Text(), nullable=False),
        sa.Column('new', sa.Text(), nullable=False),
        sa.Column('by', sa.String(length=320), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_contact_changes_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_changes')),
    )
    op.create_index('ix_contact_changes_contact', 'contact_changes', ['contact_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_contact_changes_contact', table_name='contact_changes')
    op.drop_table('contact_changes')
