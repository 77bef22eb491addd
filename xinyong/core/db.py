"""Database engines, sessions and the bulk-write paths.

SQLite (WAL) is the embedded default; PostgreSQL is the production engine. Everything above this
module is written once for both. Bulk paths bypass the ORM: ``executemany`` in one transaction
on SQLite and ``COPY`` on PostgreSQL are the fastest ways in (see STACK-NOTES.md).
"""

from __future__ import annotations

import asyncio
import io
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Only takes effect when the file is created: bigger pages suit the clustered record table,
    # whose rows carry a JSON payload (SQLite advises rows under ~1/20 of a page there).
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Temporary tables (an ingest batch's staging table) go to disk: a 5-million-row batch must
    # not hold its staging rows in memory (target: ≤ 500 MB peak for such a file).
    cur.execute("PRAGMA temp_store=FILE")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    # no mmap: mapped pages count as resident memory, and a 5M-row ingest must stay under 500 MB
    cur.execute("PRAGMA mmap_size=0")
    cur.close()


PG_TEMP_BUFFERS = "256MB"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; let SQLAlchemy issue it so that a
        # batch is one transaction from its first statement.
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    connect_args = dict(kwargs.pop("connect_args", {}))
    # An ingest batch stages its rows in temporary tables, which live in the session's own
    # buffers: at the default 8 MB a 200k-row stage spilled to disk and every set-based step
    # over it (matching, outcome, the final INSERT … SELECT) read it back. The buffers are
    # only allocated as a session's temporary tables grow, and can only be sized before its
    # first one, hence here.
    given = connect_args.get("options") or make_url(url).query.get("options") or ""
    if "temp_buffers" not in str(given):
        connect_args["options"] = f"{given} -c temp_buffers={PG_TEMP_BUFFERS}".strip()
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _sessionmaker
    if _engine is None:
        from xinyong.core.config import get_settings

        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _engine = make_engine(settings.effective_database_url)
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Point the application at another engine (tests, CLI ``--database``)."""
    global _engine, _sessionmaker
    _engine = engine
    _sessionmaker = sessionmaker(engine, expire_on_commit=False) if engine is not None else None


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error. Services never commit."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --------------------------------------------------------------------------- read fast path

_reader = threading.local()
T = TypeVar("T")


def run_read(fn: Callable[[Any, Any], T]) -> T:
    """Run ``fn(dbapi_connection, dialect)`` on a DB-API connection this thread keeps for
    short reads.

    For hot read-only paths (the profile API) where a session, a pool checkout and SQLAlchemy's
    execution layer cost more than the queries. The connection is in autocommit mode, so each
    statement sees the latest committed data and nothing stays open between calls; PostgreSQL
    gets a statement timeout, since a caller may run this on the event loop. A connection
    lost in between (server restart) is reopened once.
    """
    engine = get_engine()
    dbapi = engine.dialect.loaded_dbapi
    for attempt in (1, 2):
        conn = _reader_connection(engine)
        try:
            return fn(conn, engine.dialect)
        except dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, conn, None):
                raise
            with suppress(Exception):
                conn.close()
            _reader.conn = None
    raise AssertionError("unreachable")


def _reader_connection(engine: Engine) -> Any:
    conn = getattr(_reader, "conn", None)
    if conn is not None and _reader.engine is engine:
        return conn
    if conn is not None:  # the application moved to another engine (tests, CLI --database)
        with suppress(Exception):
            conn.close()
        _reader.conn = None
    proxy = engine.raw_connection()
    proxy.detach()  # ours for the thread's life, never handed to another user of the pool
    conn = proxy.dbapi_connection
    if engine.dialect.name == "postgresql":
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = '5s'")
    _reader.conn, _reader.engine, _reader.proxy = conn, engine, proxy
    return conn


# ----------------------------------------------------------------- async read path (PostgreSQL)

# At most this many reads of one event loop are in flight at once, each on its own connection.
ASYNC_READERS = 8


class _AsyncReaders:
    """Idle PostgreSQL connections for short reads, owned by one event loop (psycopg's async
    connections belong to the loop that opened them)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.idle: list[Any] = []
        self.slots = asyncio.Semaphore(ASYNC_READERS)

    async def take(self) -> Any:
        if self.idle:
            return self.idle.pop()
        import psycopg
        from psycopg.types.string import TextLoader

        conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        await conn.execute("SET statement_timeout = '5s'")
        # Dates come back as their ISO text, as SQLite's driver gives them: the hot path
        # writes them out as text anyway, and a date object per value was made only to be
        # formatted again.
        conn.adapters.register_loader("date", TextLoader)
        return conn

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            with suppress(Exception):
                await conn.close()


_async_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncReaders] = (
    weakref.WeakKeyDictionary()
)


async def run_read_async(fn: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``await fn(async_connection, dialect)`` on a PostgreSQL connection kept for short
    reads by the running event loop.

    The async twin of :func:`run_read`, for the hot path of the API: a statement run on the
    loop with a blocking driver holds every other request for its round trip, so one worker
    could never serve more than one read at a time while its CPU waited for PostgreSQL's.
    Here up to ``ASYNC_READERS`` reads are in flight while the loop serves other requests.
    Autocommit, a 5 s statement timeout, and a lost connection (server restart) is replaced
    once — as for ``run_read``. Dates are returned as ISO text (``YYYY-MM-DD``), as the SQLite
    driver returns them. PostgreSQL only: SQLite reads are in-process CPU work, with nothing to
    wait for.
    """
    engine = get_engine()
    loop = asyncio.get_running_loop()
    readers = _async_readers.get(loop)
    if readers is None or readers.engine is not engine:
        if readers is not None:  # the application moved to another engine
            await readers.close()
        readers = _async_readers[loop] = _AsyncReaders(engine)
    async with readers.slots:
        for attempt in (1, 2):
            conn = await readers.take()
            try:
                result = await fn(conn, engine.dialect)
            except BaseException:
                # Lost, failed or cancelled mid-statement: its state is unknown, so it goes.
                broken = conn.broken
                with suppress(Exception):
                    await conn.close()
                if attempt == 2 or not broken:
                    raise
                continue
            readers.idle.append(conn)
            return result
    raise AssertionError("unreachable")


async def close_async_readers() -> None:
    """Close the running loop's idle read connections (application shutdown)."""
    readers = _async_readers.pop(asyncio.get_running_loop(), None)
    if readers is not None:
        await readers.close()


def is_postgres(bind: Connection | Engine | Session) -> bool:
    return (
        bind.get_bind().dialect.name == "postgresql"
        if isinstance(bind, Session)
        else (bind.dialect.name == "postgresql")
    )


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]] | pl.DataFrame,
) -> int:
    """Insert many rows inside the caller's transaction by the fastest path of the engine.

    ``rows`` may be a Polars frame (its columns in ``columns`` order): on PostgreSQL it is then
    encoded for ``COPY`` by Polars itself, which is several times faster than a Python loop.
    """
    if isinstance(rows, pl.DataFrame):
        if rows.height == 0:
            return 0
        if conn.dialect.name == "postgresql":
            _copy_frame(conn, table, columns, rows)
        else:
            _executemany(conn, table, columns, _frame_rows(rows))
        return rows.height
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        buf = io.StringIO()
        write = buf.write
        for row in rows:
            write("\t".join(_copy_text(v) for v in row))
            write("\n")
        cols = ", ".join(columns)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
    else:
        _executemany(conn, table, columns, rows)
    return len(rows)


def _frame_rows(frame: pl.DataFrame, step: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """A frame's rows as tuples, a slice at a time: only ``step`` rows exist as Python objects
    at once, and building them column by column (``to_list`` + ``zip``) costs about a third
    less than Polars' row-wise ``iter_rows``."""
    for start in range(0, frame.height, step):
        part = frame.slice(start, step)
        yield from zip(*(part.get_column(c).to_list() for c in part.columns), strict=True)


def _executemany(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """SQLite: one prepared INSERT run over all rows in the caller's transaction."""
    marks = ", ".join("?" for _ in columns)
    cur = conn.connection.driver_connection.cursor()
    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    cur.close()


def _copy_frame(conn: Connection, table: str, columns: Sequence[str], frame: pl.DataFrame) -> None:
    """COPY a frame in PostgreSQL's text format, escaped column-wise."""
    frame = frame.select(
        [
            (
                pl.col(c)
                .str.replace_all("\\", "\\\\", literal=True)
                .str.replace_all("\t", "\\t", literal=True)
                .str.replace_all("\n", "\\n", literal=True)
                .str.replace_all("\r", "\\r", literal=True)
                if dtype == pl.String
                else (pl.col(c).cast(pl.String) if dtype == pl.Boolean else pl.col(c))
            )
            for c, dtype in frame.schema.items()
        ]
    )
    raw = conn.connection.driver_connection
    cols = ", ".join(columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for start in range(0, frame.height, 200_000):
            part = frame.slice(start, 200_000)
            copy.write(
                part.write_csv(
                    separator="\t", null_value="\\N", quote_style="never", include_header=False
                )
            )
