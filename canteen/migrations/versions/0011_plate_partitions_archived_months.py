"""plate weighings partitioned by month of service_date on PostgreSQL (their (station, seq) key in a plain table
of its own), and the record of months archived to files

The PostgreSQL conversion renames the populated table aside, creates the partitioned parent under the old name
(the same id sequence, now owned by the new table), a partition for every month with rows, for last month, this
month and the three ahead, and a DEFAULT partition; then moves the rows and their keys over and drops the old
table. SQLite keeps its one plain table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:00:00
"""
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

import canteen.dbtypes

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3
COLUMNS = "id, station_id, seq, canteen_id, measured_at, service_date, meal, grams, diner_ref, received_at"


def _plate_columns() -> list[sa.Column]:
    return [
        sa.Column('id', sa.BigInteger(), server_default=sa.text("nextval('plateweighing_id_seq')"),
                  autoincrement=False, nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('canteen_id', sa.Integer(), nullable=False),
        sa.Column('measured_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=True),
        sa.Column('grams', sa.Integer(), nullable=False),
        sa.Column('diner_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('received_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
        sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    ]


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def upgrade() -> None:
    op.create_table('archivedmonth',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('plates', sa.Integer(), nullable=False),
    sa.Column('file', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('archived_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month')
    )
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE plateweighing RENAME TO plateweighing_0010")
    op.execute("ALTER INDEX plateweighing_pkey RENAME TO plateweighing_0010_pkey")
    op.execute("ALTER TABLE plateweighing_0010 DROP CONSTRAINT plateweighing_station_id_seq_key")
    op.execute("DROP INDEX ix_plateweighing_canteen_period")
    op.create_table('plateweighing', *_plate_columns(), sa.PrimaryKeyConstraint('id', 'service_date'),
                    postgresql_partition_by='RANGE (service_date)')
    op.execute("ALTER SEQUENCE plateweighing_id_seq OWNED BY plateweighing.id")
    op.execute("CREATE TABLE plateweighing_default PARTITION OF plateweighing DEFAULT")
    this_month = date.today().replace(day=1)
    months = {_add_months(this_month, offset) for offset in range(-1, MONTHS_AHEAD + 1)}
    months |= set(op.get_bind().exec_driver_sql(
        "SELECT DISTINCT date_trunc('month', service_date)::date FROM plateweighing_0010").scalars())
    for month in sorted(months):
        op.execute(f"CREATE TABLE plateweighing_y{month:%Y}m{month:%m} PARTITION OF plateweighing "
                   f"FOR VALUES FROM ('{month}') TO ('{_add_months(month, 1)}')")
    op.create_table('plateweighingkey',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('station_id', 'seq')
    )
    op.execute(f"INSERT INTO plateweighing ({COLUMNS}) SELECT {COLUMNS} FROM plateweighing_0010")
    op.execute("INSERT INTO plateweighingkey (station_id, seq) SELECT station_id, seq FROM plateweighing_0010")
    op.drop_table('plateweighing_0010')
    # Made once the rows are in (one sort per partition instead of an insert into the index per row).
    op.create_index('ix_plateweighing_canteen_period', 'plateweighing', ['canteen_id', 'service_date', 'meal'])
    op.execute("ANALYZE plateweighing")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE plateweighing RENAME TO plateweighing_0011")
        op.execute("ALTER INDEX plateweighing_pkey RENAME TO plateweighing_0011_pkey")
        op.execute("DROP INDEX ix_plateweighing_canteen_period")
        op.create_table('plateweighing', *_plate_columns(), sa.PrimaryKeyConstraint('id'),
                        sa.UniqueConstraint('station_id', 'seq'))
        op.execute("ALTER SEQUENCE plateweighing_id_seq OWNED BY plateweighing.id")
        op.execute(f"INSERT INTO plateweighing ({COLUMNS}) SELECT {COLUMNS} FROM plateweighing_0011")
        op.drop_table('plateweighing_0011')  # and its partitions with it
        op.drop_table('plateweighingkey')
        op.create_index('ix_plateweighing_canteen_period', 'plateweighing', ['canteen_id', 'service_date', 'meal'])
    op.drop_table('archivedmonth')
