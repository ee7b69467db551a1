"""光盘打卡: plates attributed to their diners, each bureau's dated points rules, and each diner's points a day."""
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from canteen.auth.models import User
from canteen.org.models import Bureau, Canteen
from canteen.points.models import DinerPoints, PointsPreference


@dataclass(frozen=True)
class PointsRow:
    """One diner-day as exported."""

    diner_id: int
    external_id: str | None
    username: str
    canteen_id: int
    canteen: str
    service_date: date
    clean_plates: int
    plates: int
    points: int
    rule_id: int


def daily_points_rows(session: Session, bureau_id: int, start: date, end: date) -> list[PointsRow]:
    """DinerPoints of diners of canteens under the bureau's subtree, start..end inclusive, ordered by
    (service_date, diner_id), opted-out diners (PointsPreference.export False) left out."""
    bureau = session.get(Bureau, bureau_id)
    if bureau is None:
        return []
    subtree = select(Bureau.id).where(col(Bureau.path).startswith(bureau.path))
    rows = session.exec(
        select(DinerPoints, User.username, Canteen.name, PointsPreference.external_id)
        .join(User, col(User.id) == col(DinerPoints.diner_id))
        .join(Canteen, col(Canteen.id) == col(DinerPoints.canteen_id))
        .outerjoin(PointsPreference, col(PointsPreference.user_id) == col(DinerPoints.diner_id))
        .where(col(Canteen.bureau_id).in_(subtree), col(DinerPoints.service_date) >= start,
               col(DinerPoints.service_date) <= end, col(PointsPreference.export).is_not(False))
        .order_by(col(DinerPoints.service_date), col(DinerPoints.diner_id))
    ).all()
    return [PointsRow(diner_id=points.diner_id, external_id=external_id, username=username,
                      canteen_id=points.canteen_id, canteen=canteen, service_date=points.service_date,
                      clean_plates=points.clean_plates, plates=points.plates, points=points.points,
                      rule_id=points.rule_id)
            for points, username, canteen, external_id in rows]
