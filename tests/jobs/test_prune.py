"""The prune-expired job: expired web sessions and API tokens, and sign-in attempts past the throttle's memory
(24 h by default), are deleted; live ones stay and keep working."""
from datetime import timedelta

from sqlmodel import Session, select

from canteen.auth import service as auth_service
from canteen.auth.models import ApiToken, LoginAttempt, User, WebSession
from canteen.jobs import service as jobs


def test_prune_expired_deletes_what_can_no_longer_be_used(engine, org, clock):
    start = clock()
    with Session(engine) as session:
        user = session.get(User, org.users["diner_a"])
        old_session = auth_service.start_web_session(session, user, start, timedelta(hours=1))
        live_session = auth_service.start_web_session(session, user, start, timedelta(hours=30))
        old_token, _ = auth_service.issue_api_token(session, user, start - timedelta(days=30))  # expires at start
        live_token, _ = auth_service.issue_api_token(session, user, start)
        for hours_ago in (25, 24, 23):
            session.add(LoginAttempt(username="diner_a", client="198.51.100.1", succeeded=False,
                                     at=start + timedelta(hours=2) - timedelta(hours=hours_ago)))
        session.commit()
    clock.advance(hours=2)
    assert jobs.run(engine, "prune-expired", clock) == (
        "1 expired sessions, 1 expired API tokens and 2 sign-in attempts older than 24 h deleted")
    with Session(engine) as session:
        assert len(session.exec(select(WebSession)).all()) == 1
        assert len(session.exec(select(ApiToken)).all()) == 1
        assert [attempt.at for attempt in session.exec(select(LoginAttempt))] == [clock() - timedelta(hours=23)]
        assert auth_service.user_for_session(session, live_session, clock()).id == org.users["diner_a"]
        assert auth_service.user_for_api_token(session, live_token, clock()).id == org.users["diner_a"]
        assert auth_service.user_for_session(session, old_session, clock()) is None
        assert auth_service.user_for_api_token(session, old_token, clock()) is None
    assert jobs.run(engine, "prune-expired", clock) == (
        "0 expired sessions, 0 expired API tokens and 0 sign-in attempts older than 24 h deleted")

