"""The database: one engine and session factory per app, one session per request.

The engine lives in ``app.extensions["survey_app.db"]`` (never in a module
global), so tests can build as many apps as they like side by side.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

#: Predictable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class Database:
    """An app's engine and the factory of its sessions."""

    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    # No pre-ping (a round trip per request): after a database restart the first
    # query fails, the error page asks to try again, and SQLAlchemy replaces the
    # whole pool at once.
    engine = create_engine(url, pool_size=5, max_overflow=5, pool_recycle=1800)
    event.listen(engine, "connect", _configure_postgresql)
    return engine


def _configure_postgresql(dbapi_connection, _record) -> None:
    """No JIT compilation: the crosstab queries run 20-30% faster without it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()


def _configure_sqlite(dbapi_connection, _record) -> None:
    """Per-connection SQLite settings; autocommit off so SQLAlchemy controls BEGIN."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection) -> None:
    """Begin SQLite transactions ourselves; a write transaction (see
    :func:`begin_write`) takes the write lock at once with BEGIN IMMEDIATE, so it
    waits its turn under the busy timeout instead of failing later with
    'database is locked' when a read lock cannot be upgraded."""
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> None:
    """Attach the database to ``app`` and close each request's session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["survey_app.db"] = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    """The :class:`Database` of ``app`` (default: the current app)."""
    return (app or current_app).extensions["survey_app.db"]


def session() -> Session:
    """The session of the current request or app context, created on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def reads_outside_transaction() -> Session:
    """The request's session, reading without a transaction until :func:`begin_write`.

    On PostgreSQL each read then stands alone, as it would under READ COMMITTED
    anyway, without the BEGIN and ROLLBACK round trips of a transaction. (SQLite
    pays no round trips and keeps its transactions.) Only for views whose every
    write goes through :func:`begin_write`.
    """
    db_session = session()
    if not db_session.in_transaction() and database().engine.dialect.name == "postgresql":
        db_session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return db_session


def begin_write(db_session: Session) -> None:
    """Start a fresh transaction on ``db_session`` that is going to write.

    Whatever the session read before is committed (reads only, so nothing
    changes) and loaded objects stay usable; on SQLite the new transaction holds
    the write lock from its first statement.
    """
    db_session.commit()
    db_session.connection(execution_options={"sqlite_immediate": True})


def roll_back_request() -> None:
    """Roll back the request's session after a failed statement, so that an error page can still read
    (e.g. the logged-in user, whose row the failed flush expired)."""
    db_session = g.get("db_session")
    if db_session is not None:
        _end(db_session, db_session.rollback, "rolling back")


def _close_session(_exc: BaseException | None) -> None:
    """Close the request's session (the answer is already made)."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        _end(db_session, db_session.close, "closing a session")


def _end(db_session: Session, end: Callable[[], None], doing: str) -> None:
    """Call ``end`` (the session's rollback or close): a connection that died meanwhile (the database
    restarting) is discarded, never turned into a 500."""
    try:
        end()
    except DBAPIError as error:
        log.warning("database connection lost while %s: %s", doing, error)
        db_session.invalidate()
