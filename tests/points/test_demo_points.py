"""`make demo` shows diners with points: the demo province's rule, every seeded plate with a code attributed to its
diner, each diner-day's points by the rule, and the login diner's own page showing theirs."""
import re
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from canteen import demo
from canteen.auth.models import User
from canteen.points.models import DinerPoints, PlateAttribution, PointsRule
from canteen.weighing.models import PlateWeighing
from tests.conftest import csrf_token

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 13:00 in Shanghai


def test_the_demo_seeds_points_by_its_rule(engine, client, clock):
    with Session(engine) as session:
        demo.seed(session, NOW, history_days=5)
        session.commit()
        [rule] = session.exec(select(PointsRule)).all()
        assert (rule.clean_plate_points, rule.daily_cap, rule.streak_days, rule.streak_bonus) == (10, 20, 5, 10)
        coded = session.exec(select(func.count()).select_from(PlateWeighing)
                             .where(PlateWeighing.diner_ref.is_not(None))).one()
        assert coded > 0 and session.exec(select(func.count()).select_from(PlateAttribution)).one() == coded
        days = session.exec(select(DinerPoints)).all()
        assert {day.rule_id for day in days} == {rule.id}
        for day in days:
            bonus = 10 if day.streak and day.streak % 5 == 0 else 0
            assert day.points == min(day.clean_plates * 10, 20) + bonus
        assert sum(day.points for day in days) > 0
        login = session.exec(select(User).where(User.username == "diner-nanchang")).one()
        own = [day for day in days if day.diner_id == login.id]
        plates_today = session.exec(select(func.count()).select_from(PlateAttribution).where(
            PlateAttribution.diner_id == login.id, PlateAttribution.service_date == NOW.date())).one()
        assert own and plates_today

    clock.now = NOW
    diner = next(login for login in demo.LOGINS if login.username == "diner-nanchang")
    signed_in = client.post("/login", data={"username": diner.username, "password": diner.password,
                                            "csrf_token": csrf_token(client), "next": "/"}, follow_redirects=False)
    assert signed_in.status_code == 303
    page = client.get("/me/points").text
    found = re.search(r'data-figure="month-points">(\d+)<', page)
    assert found is not None and int(found[1]) == sum(day.points for day in own)
    assert len(re.findall(r'data-plate="\d+-\d+"', page)) == plates_today
