"""A database session for one CLI command, and its language, opened only when the command runs (the database and
the models are not imported by `canteen --help`)."""
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session


@contextmanager
def command_session() -> Iterator[tuple["Session", str]]:
    """The configured database's session, committed when the command's block ends without error, and the
    configured language."""
    from canteen import db
    from canteen.config import Settings

    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            yield session, settings.language
    finally:
        engine.dispose()
