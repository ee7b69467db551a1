"""the settings a canteen is scored by keep a dated history (the clean-plate threshold)

A canteen's clean-plate threshold decides which plates count as clean, and the clean-plate rate is scored
from it: a change applies from a date on, never to a period already scored. Each canteen's current value is
kept here as applying since ever (2000-01-01, before any record a canteen can have).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""
from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import canteen.dbtypes

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SINCE_EVER = date(2000, 1, 1)  # canteen.org.models.SINCE_EVER, written out: a migration keeps its own values


def upgrade() -> None:
    setting = op.create_table('canteensetting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('applies_from', sa.Date(), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['changed_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canteen_id', 'name', 'applies_from')
    )
    with op.batch_alter_table('canteensetting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canteensetting_canteen_id'), ['canteen_id'], unique=False)
    canteens = sa.table('canteen', sa.column('id', sa.Integer()), sa.column('clean_plate_threshold_g', sa.Integer()))
    rows = op.get_bind().execute(sa.select(canteens.c.id, canteens.c.clean_plate_threshold_g)).all()
    if rows:
        now = datetime.now(UTC)
        op.bulk_insert(setting, [{"canteen_id": canteen_id, "name": "clean_plate_threshold_g", "value": value,
                                  "applies_from": SINCE_EVER, "changed_by": None, "changed_at": now}
                                 for canteen_id, value in rows])


def downgrade() -> None:
    with op.batch_alter_table('canteensetting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canteensetting_canteen_id'))
    op.drop_table('canteensetting')
