"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xinyong.core.db import session_factory


def get_session() -> Iterator[Session]:
    """One session per request; the request commits (services never do).

    Routes must use it as ``Depends(get_session, scope="function")``: with the default
    request scope FastAPI exits the dependency after the response is sent, so a browser
    following a redirect could be served before the commit (a login that seems not to have
    happened), and a failing commit would follow a success already sent."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def json_response(data: object, status_code: int = 200) -> Response:
    """Encode with orjson directly: FastAPI's generic encoder walks every nested value in Python,
    which costs more than building a profile does."""
    return Response(
        orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS),
        status_code=status_code,
        media_type="application/json",
    )
