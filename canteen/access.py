"""Who is asking: the roles, what one signed-in user may see (Scope), and the checks every service shares.

This sits below the domain packages: org, auth and the rest filter their queries through a Scope without
importing each other for it.
"""
from dataclasses import dataclass
from enum import StrEnum

from canteen.errors import Forbidden


class Role(StrEnum):
    diner = "diner"
    operator = "operator"
    bureau = "bureau"
    admin = "admin"


@dataclass(frozen=True)
class Scope:
    """What one signed-in user may see; every service query is filtered through it."""

    user_id: int
    role: Role
    bureau_path: str | None = None  # bureau users: their bureau's materialised path
    canteen_ids: frozenset[int] = frozenset()  # operators: their canteens; diners: their own

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def manages(self) -> bool:
        """Admins, bureaus and operators see management data; diners do not."""
        return self.role is not Role.diner


# Installers' CLI commands act with full rights, as the machine's administrator.
SYSTEM = Scope(user_id=0, role=Role.admin)


def require_admin(scope: Scope) -> None:
    if not scope.is_admin:
        raise Forbidden("only an administrator may do this")


def may_operate(scope: Scope, canteen_id: int) -> bool:
    """Whether the scope may change a canteen's records and setup: an administrator, or one of its operators.

    Bureaus read their subtree and change nothing of a canteen (they assess it); diners only book.
    """
    return scope.is_admin or (scope.role is Role.operator and canteen_id in scope.canteen_ids)
