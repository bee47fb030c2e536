"""The Redis stack's question (stacks/redis.py): PING with the password, and refused without.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

import redis

from .plumbing import CONNECT_TIMEOUT, Failed, READ_TIMEOUT, Target, cause_of, nothing_answers, question


@question("redis", asks="PING at {redisUrl} with the password answers PONG; without it, Redis refuses")
def redis_ping(t: Target) -> str:
    url, password = t.output("redisUrl"), t.output("redisPassword")
    if _redis_ping(url, password, t) is not True:
        raise Failed(f"Redis at {url} did not answer PING with PONG")
    try:
        open_to_all = _redis_ping(url, None, t)
    except redis.exceptions.AuthenticationError:
        return "PONG with the password; without it: NOAUTH"
    raise Failed(f"Redis at {url} answers PING without a password (PONG: {open_to_all}): whoever reaches it "
                 "reads and writes it", f"its command sets --requirepass from redisPassword: `make up STACK={t.stack}` "
                 "re-creates it as the stack runs it")


def _redis_ping(url: str, password: Optional[str], t: Target) -> Any:
    """PING once (no retries), with or without the password; AuthenticationError when
    Redis wants one (only without it), Unreachable, Failed."""
    client = redis.Redis.from_url(url, password=password, socket_connect_timeout=CONNECT_TIMEOUT,
                                  socket_timeout=READ_TIMEOUT, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    try:
        return client.ping()
    except redis.exceptions.AuthenticationError as error:
        if password is None:
            raise
        raise Failed(f"Redis refuses the password ({error})",
                     f"Redis takes redisPassword when it starts: `make up STACK={t.stack}` re-creates it with the "
                     "stack's") from None
    except redis.exceptions.ConnectionError as error:
        raise nothing_answers(urlsplit(url).netloc, cause_of(error)) from None
    finally:
        client.close()
