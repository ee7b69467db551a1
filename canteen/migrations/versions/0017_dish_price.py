"""a dish's own price per kg, for its unserved food (none: the canteen's price of unserved food)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 01:31:31
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_yuan_per_kg', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.drop_column('price_yuan_per_kg')
