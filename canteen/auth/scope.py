from dataclasses import dataclass

from canteen.auth.models import Role


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
