"""due indexes hold only unleased rows; expired leases are found by their own index

A claim looked for due rows whose lease was missing or expired, walking the due index from
the oldest: with a backlog leased and waiting for workers, every tick read past all of it
(100k leased enrollments: 22 ms a claim, several claims a second). Now the due index holds
only unleased rows, and a small index on leases finds the expired ones to release.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = (("enrollments", "next_run_at"), ("sends", "due_at"),
          ("webhook_deliveries", "due_at"), ("handoffs", "due_at"))


def _where(text: str) -> dict:
    return {"postgresql_where": sa.text(text), "sqlite_where": sa.text(text)}


def upgrade() -> None:
    for table, due in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_due', **_where(f'{due} IS NOT NULL'))
            batch_op.create_index(f'ix_{table}_due', [due], unique=False,
                                  **_where(f'{due} IS NOT NULL AND lease_until IS NULL'))
            batch_op.create_index(f'ix_{table}_leased', ['lease_until'], unique=False,
                                  **_where(f'{due} IS NOT NULL AND lease_until IS NOT NULL'))


def downgrade() -> None:
    for table, due in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_leased',
                                **_where(f'{due} IS NOT NULL AND lease_until IS NOT NULL'))
            batch_op.drop_index(f'ix_{table}_due',
                                **_where(f'{due} IS NOT NULL AND lease_until IS NULL'))
            batch_op.create_index(f'ix_{table}_due', [due], unique=False,
                                  **_where(f'{due} IS NOT NULL'))
