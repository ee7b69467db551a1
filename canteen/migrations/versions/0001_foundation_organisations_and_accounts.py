"""foundation: organisations and accounts

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 09:20:28.576384
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import canteen.dbtypes


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bureau',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('level', sa.Enum('province', 'city', 'county', name='bureaulevel', native_enum=False), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['bureau.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('bureau', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bureau_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_path'), ['path'], unique=False)

    op.create_table('loginattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.create_index('ix_loginattempt_client_at', ['client', 'at'], unique=False)
        batch_op.create_index('ix_loginattempt_username_at', ['username', 'at'], unique=False)

    op.create_table('canteen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('operating_mode', sa.Enum('self-run', 'outsourced', name='operatingmode', native_enum=False), nullable=False),
    sa.Column('serving_mode', sa.Enum('buffet', 'portioned', 'table', 'set-meal', name='servingmode', native_enum=False), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bureau_id', 'name')
    )
    with op.batch_alter_table('canteen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canteen_bureau_id'), ['bureau_id'], unique=False)

    op.create_table('mealwindow',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('canteen_id', 'meal')
    )
    op.create_table('station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('plate-return', 'kitchen', name='stationkind', native_enum=False), nullable=False),
    sa.Column('protocol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('baudrate', sa.Integer(), nullable=False),
    sa.Column('bytesize', sa.Integer(), nullable=False),
    sa.Column('parity', sa.Enum('N', 'E', 'O', 'M', 'S', name='parity', native_enum=False), nullable=False),
    sa.Column('stopbits', sa.Float(), nullable=False),
    sa.Column('capacity_g', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canteen_id', 'name'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_canteen_id'), ['canteen_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('role', sa.Enum('diner', 'operator', 'bureau', 'admin', name='role', native_enum=False), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=True),
    sa.Column('canteen_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_bureau_id'), ['bureau_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_canteen_id'), ['canteen_id'], unique=False)

    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apitoken_user_id'), ['user_id'], unique=False)

    op.create_table('operatorcanteen',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'canteen_id')
    )
    op.create_table('websession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_websession_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('websession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_websession_user_id'))

    op.drop_table('websession')
    op.drop_table('operatorcanteen')
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_user_id'))

    op.drop_table('apitoken')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_canteen_id'))
        batch_op.drop_index(batch_op.f('ix_user_bureau_id'))

    op.drop_table('user')
    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_canteen_id'))

    op.drop_table('station')
    op.drop_table('mealwindow')
    with op.batch_alter_table('canteen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canteen_bureau_id'))

    op.drop_table('canteen')
    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.drop_index('ix_loginattempt_username_at')
        batch_op.drop_index('ix_loginattempt_client_at')

    op.drop_table('loginattempt')
    with op.batch_alter_table('bureau', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bureau_path'))
        batch_op.drop_index(batch_op.f('ix_bureau_parent_id'))

    op.drop_table('bureau')
