"""webhook endpoints: subscriptions with their own secrets; deliveries keep what came back

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 22:50:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, Json, UTCDateTime

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', BigId, nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('event_types', Json, nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('previous_secret', sa.String(length=200), nullable=True),
        sa.Column('previous_expires_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('owner_id', BigId, nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('failure_count', sa.Integer(), nullable=False),
        sa.Column('failing_since', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'],
                                name=op.f('fk_webhook_endpoints_owner_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('endpoint_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('event_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('contact_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('response_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('response_excerpt', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('duration_ms', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'),
            'webhook_endpoints', ['endpoint_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_webhook_deliveries_endpoint', ['endpoint_id', 'id'])


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_endpoint')
        batch_op.drop_constraint(
            batch_op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'),
            type_='foreignkey')
        for column in ('duration_ms', 'response_excerpt', 'response_code', 'contact_id',
                       'event_id', 'endpoint_id'):
            batch_op.drop_column(column)
    op.drop_table('webhook_endpoints')
