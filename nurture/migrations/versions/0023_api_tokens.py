"""api tokens: per-user bearer tokens for the JSON API, stored as SHA-256 digests

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 22:50:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, UTCDateTime

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('user_id', BigId, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix')),
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
