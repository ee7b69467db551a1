"""A 2027 notice as the State Council might publish it, typed in as CSV, and scopes by user name."""
from collections.abc import Callable
from datetime import date

import pytest

from canteen.access import Scope
from canteen.auth import service as auth_service
from canteen.auth.models import User

# New Year falls on a Friday; the break runs to Monday 4 January (a weekday holiday) and Saturday 9 January is
# worked in exchange. Labour Day takes Monday to Wednesday, 3-5 May, and Saturday 8 May is worked.
NOTICE_2027 = """date,kind,name
2027-01-01,holiday,元旦
2027-01-02,holiday,元旦
2027-01-03,holiday,元旦
2027-01-04,holiday,元旦
2027-01-09,workday,元旦
2027-05-01,holiday,劳动节
2027-05-02,holiday,劳动节
2027-05-03,holiday,劳动节
2027-05-04,holiday,劳动节
2027-05-05,holiday,劳动节
2027-05-08,workday,劳动节
"""
HOLIDAYS_2027 = [date(2027, 1, day) for day in range(1, 5)] + [date(2027, 5, day) for day in range(1, 6)]
WORKED_SATURDAYS_2027 = [date(2027, 1, 9), date(2027, 5, 8)]


@pytest.fixture
def notice_file(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(NOTICE_2027, encoding="utf-8")
    return path


@pytest.fixture
def scope_of(session, org) -> Callable[[str], Scope]:
    def scope(username: str) -> Scope:
        return auth_service.scope_for(session, session.get(User, org.users[username]))

    return scope
