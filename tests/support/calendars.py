"""The official calendar as the migration seeds it (chinesecalendar's years), for tests without a database."""
from canteen.calendar.service import library_calendar
from canteen.reservation.calendar import day_kinds

SEEDED = library_calendar()
seeded_kind = day_kinds(SEEDED)  # the simulator's day kinds on the seeded calendar
