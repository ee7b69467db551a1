"""The administrator's list of accounts: searched, filtered, counted and cut into pages in SQL.

A province has thousands of diners, so the accounts page never loads them all; a page's bureau and
canteen names are looked up in one query each, not one per account.
"""
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from canteen.access import Role, Scope, require_admin
from canteen.auth.models import OperatorCanteen, User, UserRead
from canteen.org import service as org_service
from canteen.paging import PER_PAGE, Page, matching, paginate


@dataclass(frozen=True)
class UserRow:
    user: UserRead
    bureau: str  # its bureau's name, "" for none
    canteens: list[str]  # the names of the canteens it is bound to


def search_users(session: Session, scope: Scope, text: str = "", role: Role | None = None,
                 canteen_id: int | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page[UserRow]:
    """Accounts whose user name or display name contains the text, of one role and bound to one canteen
    (a diner's own, or one an operator runs) when given, in the order they were created."""
    require_admin(scope)
    query = select(User)
    if text.strip():
        query = query.where(matching(User.username, User.display_name, text=text))
    if role is not None:
        query = query.where(User.role == role)
    if canteen_id is not None:
        operators = select(OperatorCanteen.user_id).where(OperatorCanteen.canteen_id == canteen_id)
        query = query.where(or_(col(User.canteen_id) == canteen_id, col(User.id).in_(operators)))
    found = paginate(session, query.order_by(col(User.id)), page, per_page)
    return Page(rows=_rows(session, found.rows), total=found.total, number=found.number, per_page=found.per_page)


def _rows(session: Session, users: Sequence[User]) -> list[UserRow]:
    user_ids = [user.id for user in users if user.id is not None]
    links = session.exec(select(OperatorCanteen).where(col(OperatorCanteen.user_id).in_(user_ids))).all()
    operated: dict[int, list[int]] = {}
    for link in sorted(links, key=lambda link: link.canteen_id):
        operated.setdefault(link.user_id, []).append(link.canteen_id)
    bound = {user.id: operated.get(user.id, []) if user.role is Role.operator
             else [user.canteen_id] if user.canteen_id is not None else [] for user in users if user.id is not None}
    bureaus = org_service.bureau_names(session, [user.bureau_id for user in users])
    canteens = org_service.canteen_names(session, [canteen_id for ids in bound.values() for canteen_id in ids])
    rows = []
    for user in users:
        assert user.id is not None
        read = UserRead(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                        bureau_id=user.bureau_id, canteen_ids=bound[user.id], active=user.active)
        rows.append(UserRow(user=read, bureau=bureaus.get(user.bureau_id, "") if user.bureau_id else "",
                            canteens=[canteens[canteen_id] for canteen_id in bound[user.id]]))
    return rows
