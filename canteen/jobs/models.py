"""The lock row of each background job, with its last run's start, end and result."""
from datetime import datetime

from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime

RESULT_LENGTH = 500


class JobRun(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=60)
    holder: str | None = Field(default=None, max_length=120)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_started: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_finished: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok: bool | None = None
    last_result: str = Field(default="", max_length=RESULT_LENGTH)
