"""official calendar: the years of the State Council's holiday notice and their holidays and adjusted workdays,
seeded from chinesecalendar for the years it knows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import canteen.dbtypes

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    years = op.create_table('calendaryear',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    days = op.create_table('officialday',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'workday', name='officialkind', native_enum=False, create_constraint=False,
                              length=7), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['calendaryear.year'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_index(op.f('ix_officialday_year'), 'officialday', ['year'], unique=False)
    # The seed is what chinesecalendar knows today; later years come from `canteen calendar import`.
    from canteen.calendar.service import LIBRARY_SOURCE, library_days
    seeded = list(library_days())
    now = datetime.now(UTC)
    op.bulk_insert(years, [{'year': year, 'source': LIBRARY_SOURCE, 'imported_at': now}
                           for year in sorted({day.year for day, _, _ in seeded})])
    op.bulk_insert(days, [{'day': day, 'year': day.year, 'kind': kind.value, 'name': name}
                          for day, kind, name in seeded])


def downgrade() -> None:
    op.drop_index(op.f('ix_officialday_year'), table_name='officialday')
    op.drop_table('officialday')
    op.drop_table('calendaryear')
