"""segments: named conditions over contacts, and the members of watched ones

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:30:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'segments',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('condition', sa.Text(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=320), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('members_at', UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'segment_members',
        sa.Column('segment_id', BigId, sa.ForeignKey('segments.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('contact_id', BigId, sa.ForeignKey('contacts.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('since', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('segment_id', 'contact_id'),
    )
    op.create_index('ix_segment_members_contact', 'segment_members', ['contact_id'])


def downgrade() -> None:
    op.drop_index('ix_segment_members_contact', table_name='segment_members')
    op.drop_table('segment_members')
    op.drop_table('segments')
