"""Assessment fixtures: scopes by user name, and scorecards stored as the engine makes them."""
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from canteen.access import Scope
from canteen.assessment import service
from canteen.assessment.models import Scorecard
from canteen.assessment.periods import parse_period
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import reference_standard
from canteen.auth import service as auth_service
from canteen.auth.models import User

COMPUTED = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def scope_of(session: Session, org) -> Callable[[str], Scope]:
    return lambda username: auth_service.scope_for(session, session.get(User, org.users[username]))


@pytest.fixture
def stored_scorecard(session: Session) -> Callable[..., Scorecard]:
    """A scorecard of the reference standard for a canteen and period, from given metrics and answers."""
    def store(canteen_id: int, period: str, metrics: dict | None = None, checklist: dict | None = None,
              vetoes: tuple = ()) -> Scorecard:
        parsed = parse_period(period)
        result = score(reference_standard(), AssessmentInput(period=period, metrics=metrics or {},
                                                             checklist=checklist or {}, vetoes=vetoes))
        row = Scorecard(canteen_id=canteen_id, kind=parsed.kind, period=parsed.name, starts=parsed.starts,
                        ends=parsed.ends, standard_id=service.reference_row(session, COMPUTED).id,
                        total=float(result.total), grade=result.grade, vetoed=bool(result.vetoes),
                        body=result.to_dict() | {"metrics": {}}, computed_at=COMPUTED)
        session.add(row)
        session.flush()
        return row

    return store
