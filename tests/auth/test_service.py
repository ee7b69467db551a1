"""Account logic without HTTP: password hashing, scopes, sessions."""
from datetime import timedelta

from canteen.access import Role, Scope
from canteen.auth import service
from canteen.auth.models import User


def test_passwords_are_stored_as_argon2id(session, org):
    user = session.get(User, org.users["operator_a"])
    assert user.password_hash.startswith("$argon2id$")
    assert "correct-horse-battery" not in user.password_hash


def test_scope_of_each_role(session, org):
    def scope(name: str) -> Scope:
        return service.scope_for(session, session.get(User, org.users[name]))

    assert scope("admin").is_admin
    assert scope("bureau_c1").bureau_path == f"/{org.province}/{org.c1}/"
    assert scope("operator_a").canteen_ids == frozenset([org.canteens["a"]])
    diner = scope("diner_a")
    assert diner.role is Role.diner and not diner.manages and diner.canteen_ids == frozenset([org.canteens["a"]])


def test_web_sessions_expire_and_end(session, org, clock):
    user = session.get(User, org.users["diner_a"])
    token = service.start_web_session(session, user, clock(), timedelta(hours=1))
    assert service.user_for_session(session, token, clock()).id == user.id
    assert service.user_for_session(session, token, clock() + timedelta(hours=2)) is None
    service.end_web_session(session, token)
    assert service.user_for_session(session, token, clock()) is None
