"""The lock row of each background job, with its last run's start, end and result; and each scheduled slot run."""
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


class JobSlot(SQLModel, table=True):
    """One scheduled run of a job (its name and the cron time it was due), claimed by inserting this row.

    The primary key makes the insert succeed once: of several schedulers firing the same slot only the one
    whose insert landed runs it. Manual runs (`canteen jobs run`) have no slot.
    """
    name: str = Field(primary_key=True, max_length=60)
    slot: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    holder: str = Field(max_length=120)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ok: bool | None = None  # None while running, and when the job was running elsewhere (a manual run): skipped
    result: str = Field(default="", max_length=RESULT_LENGTH)
