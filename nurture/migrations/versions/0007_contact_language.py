"""contacts have a language, which picks the translation of each email

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("language", sa.String(35), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("language")
