"""job slots: each scheduled run of a background job, recorded so it runs once however many schedulers fire it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import canteen.dbtypes

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobslot',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('slot', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('started_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('name', 'slot')
    )


def downgrade() -> None:
    op.drop_table('jobslot')
