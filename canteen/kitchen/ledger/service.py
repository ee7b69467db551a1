"""The kitchen-waste ledger (厨余垃圾台账) of a canteen's month: per day the kitchen waste by kind as it was weighed,
who weighed it and the hand-overs to the licensed collector, which operators record here."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from canteen.access import Scope, may_operate
from canteen.auth.models import User
from canteen.bounds import month_end
from canteen.errors import Forbidden, InvalidInput
from canteen.i18n import N_
from canteen.kitchen.ledger.models import HandoverEntry, WasteHandover
from canteen.org import service as org_service
from canteen.org.models import Canteen, Station
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste
from canteen.weighing.service import check_range

MANIFEST_TAKEN = N_("manifest number {number} is already in this canteen's ledger")


def record_handover(session: Session, scope: Scope, canteen_id: int, entry: HandoverEntry,
                    now: datetime) -> WasteHandover:
    """A hand-over to the collector; a date after the canteen's today or a manifest number the canteen already
    recorded is refused."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may record its data")
    if entry.handed_on > org_service.local_date(canteen, now):
        raise InvalidInput("{field} cannot be in the future", field="handed_on")
    taken = select(WasteHandover.id).where(WasteHandover.canteen_id == canteen_id,
                                           WasteHandover.manifest_no == entry.manifest_no)
    if session.exec(taken).first() is not None:
        raise InvalidInput(MANIFEST_TAKEN, field="manifest_no", number=entry.manifest_no)
    handover = WasteHandover(canteen_id=canteen_id, **entry.model_dump(), recorded_by=scope.user_id or None,
                             recorded_at=now)
    session.add(handover)
    try:
        session.flush()
    except IntegrityError:  # the same manifest recorded by another request since the check
        session.rollback()
        raise InvalidInput(MANIFEST_TAKEN, field="manifest_no", number=entry.manifest_no) from None
    return handover


def handovers(session: Session, scope: Scope, canteen_id: int, start: date, end: date) -> list[WasteHandover]:
    """The canteen's hand-overs from start to end, in the order they were made."""
    check_range(start, end)
    org_service.get_canteen(session, scope, canteen_id)
    return _handovers(session, canteen_id, start, end)


def _handovers(session: Session, canteen_id: int, start: date, end: date) -> list[WasteHandover]:
    query = select(WasteHandover).where(WasteHandover.canteen_id == canteen_id, WasteHandover.handed_on >= start,
                                        WasteHandover.handed_on <= end)
    return list(session.exec(query.order_by(col(WasteHandover.handed_on), col(WasteHandover.id))))


@dataclass(frozen=True)
class LedgerDay:
    day: date
    waste_g: dict[KitchenCategory, int]  # every kind, 0 where none was weighed
    weighed_by: list[str]
    handovers: list[WasteHandover]

    @property
    def waste_total_g(self) -> int:
        return sum(self.waste_g.values())

    @property
    def handed_over_g(self) -> int:
        return sum(handover.grams for handover in self.handovers)


@dataclass(frozen=True)
class Ledger:
    canteen: Canteen
    month: date  # its first day
    days: list[LedgerDay]  # the days with kitchen waste or a hand-over

    @property
    def waste_g(self) -> dict[KitchenCategory, int]:
        return {category: sum(day.waste_g[category] for day in self.days) for category in KitchenCategory}

    @property
    def waste_total_g(self) -> int:
        return sum(day.waste_total_g for day in self.days)

    @property
    def handed_over_g(self) -> int:
        return sum(day.handed_over_g for day in self.days)

    @property
    def difference_g(self) -> int:
        """Weighed in the kitchen and not (yet) handed over; negative when more was handed over."""
        return self.waste_total_g - self.handed_over_g


def ledger(session: Session, scope: Scope, canteen_id: int, month: date) -> Ledger:
    """The month's ledger from the kitchen-waste records in force (a corrected record counts as its correction)."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    end = month_end(month)
    service_date, category = col(KitchenWaste.service_date), col(KitchenWaste.category)
    classifier, recorder = aliased(User), aliased(User)
    # A station's weighing was weighed by whoever classified it at the terminal, else by the station; a record
    # entered by hand by whoever entered it.
    weigher = case((col(KitchenWaste.source) == KitchenSource.station,
                    func.coalesce(classifier.display_name, Station.name)), else_=recorder.display_name)
    waste = session.exec(
        select(service_date, category, weigher, func.sum(KitchenWaste.grams))
        .outerjoin(classifier, col(classifier.id) == KitchenWaste.classified_by)
        .outerjoin(recorder, col(recorder.id) == KitchenWaste.recorded_by)
        .outerjoin(Station, col(Station.id) == KitchenWaste.station_id)
        .where(KitchenWaste.canteen_id == canteen_id, service_date >= month, service_date <= end,
               col(KitchenWaste.superseded_by).is_(None))
        .group_by(service_date, category, weigher))
    weighed: dict[date, dict[KitchenCategory, int]] = {}
    weighers: dict[date, set[str]] = {}
    for day, kind, name, grams in waste:
        weighed.setdefault(day, dict.fromkeys(KitchenCategory, 0))[kind] += grams
        if name:
            weighers.setdefault(day, set()).add(name)
    handed: dict[date, list[WasteHandover]] = {}
    for handover in _handovers(session, canteen_id, month, end):
        handed.setdefault(handover.handed_on, []).append(handover)
    days = [LedgerDay(day, weighed.get(day, dict.fromkeys(KitchenCategory, 0)), sorted(weighers.get(day, ())),
                      handed.get(day, [])) for day in sorted(weighed.keys() | handed.keys())]
    return Ledger(canteen, month, days)
