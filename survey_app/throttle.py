"""Fixed-window rate limits shared by every web worker (database, or Redis when configured)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from survey_app import db
from survey_app.models import RateLimit
from survey_app.models.types import utcnow


def hit(key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt for ``key``; return False once ``limit`` attempts fill the window."""
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        return _hit_redis(redis_url, key, limit, window)
    return _hit_database(key, limit, window)


def reset(key: str) -> None:
    """Forget the attempts counted for ``key`` (e.g. after a successful login)."""
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        _redis(redis_url).delete(f"survey_app:throttle:{key}")
        return
    session = db.session()
    db.begin_write(session)
    session.execute(delete(RateLimit).where(RateLimit.key == key))
    session.commit()


def _hit_database(key: str, limit: int, window: timedelta) -> bool:
    try:
        return _count_in_database(key, limit, window)
    except IntegrityError:  # another worker inserted the same key first: count on its row
        db.session().rollback()
        return _count_in_database(key, limit, window)


def _count_in_database(key: str, limit: int, window: timedelta) -> bool:
    session = db.session()
    db.begin_write(session)
    now = utcnow()
    row = session.execute(select(RateLimit).where(RateLimit.key == key).with_for_update()).scalar_one_or_none()
    if row is None:
        session.add(RateLimit(key=key, window_start=now, count=1))
    elif now - row.window_start > window:
        row.window_start, row.count = now, 1
    else:
        row.count += 1
    allowed = row is None or row.count <= limit
    session.commit()
    return allowed


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


def _hit_redis(url: str, key: str, limit: int, window: timedelta) -> bool:
    client = _redis(url)
    name = f"survey_app:throttle:{key}"
    with client.pipeline() as pipe:
        pipe.incr(name)
        pipe.expire(name, int(window.total_seconds()), nx=True)
        count, _ = pipe.execute()
    return count <= limit
