"""contact imports: jobs, rejected rows, saved mappings

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00
"""

import sqlalchemy as sa
from alembic import op

from nurture.db import BigId, Json, UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _where(text: str) -> dict:
    return {"postgresql_where": sa.text(text), "sqlite_where": sa.text(text)}


def upgrade() -> None:
    op.create_table(
        'import_jobs',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('path', sa.String(length=1000), nullable=False),
        sa.Column('options', Json, nullable=False),
        sa.Column('mapping', Json, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('total_lines', sa.Integer(), nullable=False),
        sa.Column('checkpoint_line', sa.Integer(), nullable=False),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('duplicates', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('rows_per_second', sa.Float(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('due_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_import_jobs_due', 'import_jobs', ['due_at'],
                    **_where('due_at IS NOT NULL AND lease_until IS NULL'))
    op.create_index('ix_import_jobs_leased', 'import_jobs', ['lease_until'],
                    **_where('due_at IS NOT NULL AND lease_until IS NOT NULL'))
    op.create_table(
        'import_rejects',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('job_id', BigId, sa.ForeignKey('import_jobs.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raw', Json, nullable=False),
    )
    op.create_index('ix_import_rejects_job', 'import_rejects', ['job_id', 'line'])
    op.create_table(
        'import_mappings',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('mapping', Json, nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('import_mappings')
    op.drop_index('ix_import_rejects_job', table_name='import_rejects')
    op.drop_table('import_rejects')
    op.drop_index('ix_import_jobs_leased', table_name='import_jobs')
    op.drop_index('ix_import_jobs_due', table_name='import_jobs')
    op.drop_table('import_jobs')
