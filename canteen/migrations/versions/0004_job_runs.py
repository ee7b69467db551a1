"""job runs: one lock row per background job, with its last result

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:20:00
"""
from alembic import op
import sqlalchemy as sa

import canteen.dbtypes


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobrun',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('locked_until', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_started', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_finished', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ok', sa.Boolean(), nullable=True),
    sa.Column('last_result', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('jobrun')
