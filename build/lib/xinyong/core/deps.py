"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from xinyong.core.db import session_factory


def get_session() -> Iterator[Session]:
    """One session per request; the request commits (services never do)."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
