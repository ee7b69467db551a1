"""The official calendar as the migration seeds it (chinesecalendar's years), for tests without a database."""
from datetime import date

from canteen.calendar.service import library_calendar
from canteen.reservation.calendar import day_info

SEEDED = library_calendar()


def seeded_kind(day: date) -> str:
    """The simulator's day kind on the seeded calendar."""
    return day_info(SEEDED, day).kind.value
