"""光盘打卡: plates attributed to their diners, each bureau's dated points rules, each diner's points a day and
their own export choices, and the points platforms' keys, webhook and deliveries

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 01:28:00.142366
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import canteen.dbtypes

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pointsclient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('pointsclient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pointsclient_bureau_id'), ['bureau_id'], unique=False)

    op.create_table('plateattribution',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('diner_id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=True),
    sa.Column('grams', sa.Integer(), nullable=False),
    sa.Column('clean', sa.Boolean(), nullable=False),
    sa.Column('measured_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('station_id', 'seq')
    )
    with op.batch_alter_table('plateattribution', schema=None) as batch_op:
        batch_op.create_index('ix_plateattribution_canteen_day', ['canteen_id', 'service_date'], unique=False)
        batch_op.create_index('ix_plateattribution_diner_day', ['diner_id', 'service_date'], unique=False)

    op.create_table('pointspreference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('export', sa.Boolean(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('updated_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('pointsrule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('applies_from', sa.Date(), nullable=False),
    sa.Column('clean_plate_points', sa.Integer(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=False),
    sa.Column('streak_days', sa.Integer(), nullable=False),
    sa.Column('streak_bonus', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bureau_id', 'applies_from')
    )
    op.create_table('pointswebhook',
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('bureau_id')
    )
    op.create_table('dinerpoints',
    sa.Column('diner_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('plates', sa.Integer(), nullable=False),
    sa.Column('clean_plates', sa.Integer(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('computed_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['pointsrule.id'], ),
    sa.PrimaryKeyConstraint('diner_id', 'service_date')
    )
    with op.batch_alter_table('dinerpoints', schema=None) as batch_op:
        batch_op.create_index('ix_dinerpoints_bureau_day', ['bureau_id', 'service_date'], unique=False)

    op.create_table('pointsdelivery',
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('diner_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['pointsrule.id'], ),
    sa.PrimaryKeyConstraint('bureau_id', 'diner_id', 'service_date', 'rule_id')
    )
    with op.batch_alter_table('pointsdelivery', schema=None) as batch_op:
        batch_op.create_index('ix_pointsdelivery_due', ['bureau_id', 'delivered_at', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pointsdelivery', schema=None) as batch_op:
        batch_op.drop_index('ix_pointsdelivery_due')

    op.drop_table('pointsdelivery')
    with op.batch_alter_table('dinerpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_dinerpoints_bureau_day')

    op.drop_table('dinerpoints')
    op.drop_table('pointswebhook')
    op.drop_table('pointsrule')
    op.drop_table('pointspreference')
    with op.batch_alter_table('plateattribution', schema=None) as batch_op:
        batch_op.drop_index('ix_plateattribution_diner_day')
        batch_op.drop_index('ix_plateattribution_canteen_day')

    op.drop_table('plateattribution')
    with op.batch_alter_table('pointsclient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pointsclient_bureau_id'))

    op.drop_table('pointsclient')
