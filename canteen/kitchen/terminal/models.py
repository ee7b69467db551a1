from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime


class StationReading(SQLModel, table=True):
    """A kitchen scale's latest live reading, as its gateway sends it about once a second while the weight moves.

    One row a station, overwritten: the terminal page shows the scale from it, whichever server worker serves it.
    """

    station_id: int = Field(foreign_key="station.id", primary_key=True)
    grams: int | None  # None: the scale shows no weight (overload, underload, motion without a value)
    stable: bool
    measured_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)


class KitchenReasons(SQLModel, table=True):
    """A canteen's own list of loss reasons for its terminal; a canteen without a row uses the defaults."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    reasons: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(sa_type=UTCDateTime)
