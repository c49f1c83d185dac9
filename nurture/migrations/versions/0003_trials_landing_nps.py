"""trials landing pages nps preferences

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:24:04.327285
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import nurture.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('landing_pages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('headline', sa.String(length=200), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('hero_image', sa.String(length=500), nullable=False),
    sa.Column('hero_alt', sa.String(length=300), nullable=False),
    sa.Column('vertical', sa.String(length=80), nullable=False),
    sa.Column('form', sa.String(length=40), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('journey_id', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', nurture.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_landing_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_landing_pages_slug'))
    )
    op.create_table('nps_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('survey', sa.String(length=120), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('vertical', sa.String(length=80), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('answered_at', nurture.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nurture.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_nps_responses_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_responses')),
    sa.UniqueConstraint('contact_id', 'survey', name=op.f('uq_nps_responses_contact_id'))
    )
    with op.batch_alter_table('nps_responses', schema=None) as batch_op:
        batch_op.create_index('ix_nps_answered', ['answered_at'], unique=False)

    op.create_table('trials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('technical_name', sa.String(length=200), nullable=False),
    sa.Column('technical_email', sa.String(length=320), nullable=False),
    sa.Column('shipping_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('choice', sa.String(length=20), nullable=True),
    sa.Column('started_at', nurture.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', nurture.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('converted_at', nurture.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expired_at', nurture.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retention_until', nurture.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', nurture.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('landing_slug', sa.String(length=120), nullable=False),
    sa.Column('utm', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('referral_code', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_trials_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trials'))
    )
    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.create_index('ix_trials_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_trials_status_ends', ['status', 'ends_at'], unique=False)

    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=40), nullable=False, server_default=''))

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_topics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('email_frequency', sa.String(length=20), nullable=False, server_default='normal'))



def downgrade() -> None:
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.drop_column('topic')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('email_frequency')
        batch_op.drop_column('email_topics')

    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.drop_index('ix_trials_status_ends')
        batch_op.drop_index('ix_trials_contact')

    op.drop_table('trials')
    with op.batch_alter_table('nps_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_nps_answered')

    op.drop_table('nps_responses')
    op.drop_table('landing_pages')
