"""Retries for what must happen once Webex has taken a change (tenacity, not sleep loops).

``durably``: a database write, retried until the database answers (locked, restarting).
``deliver``: a message post, retried with backoff while Webex fails it for a reason that may pass;
a rare duplicate (a post that landed but whose answer was lost) is better than a space that never
hears of a change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from bot.webex.errors import WebexCallError

log = logging.getLogger(__name__)
T = TypeVar("T")
# Long enough for a database restart or a lock held by a backup; the event's lease is renewed
# meanwhile, so no other worker takes the Confirm over.
DATABASE_PATIENCE_SECONDS = 900
POST_ATTEMPTS = 5  # about 15 s of backoff in all: 1, 2, 4, 8 s


def durably(what: str, write: Callable[[], T]) -> T:
    """``write()``, retried while the database does not answer (locked, restarting)."""
    retrying = Retrying(retry=retry_if_exception_type(SQLAlchemyError),
                        wait=wait_exponential(multiplier=0.2, max=5),
                        stop=stop_after_delay(DATABASE_PATIENCE_SECONDS),
                        before_sleep=_logged(f"writing {what}"), reraise=True)
    return retrying(write)


def deliver(what: str, post: Callable[[], T]) -> T | None:
    """``post()``, retried with backoff while Webex fails it for a reason that may pass; None
    (and an error in the log) if it never went through."""
    retrying = Retrying(retry=retry_if_exception(_may_pass), stop=stop_after_attempt(POST_ATTEMPTS),
                        wait=wait_exponential(multiplier=1, max=8),
                        before_sleep=_logged(f"posting {what}"), reraise=True)
    try:
        return retrying(post)
    except WebexCallError as exc:
        log.error("%s not delivered: %s", what, exc)
        return None


def _may_pass(exc: BaseException) -> bool:
    # A 4xx other than 429 (room gone, card refused) fails the same way every time.
    return isinstance(exc, WebexCallError) and (exc.status is None or exc.status == 429
                                                or exc.status >= 500)


def _logged(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        log.warning("%s failed (attempt %d, %s); trying again", what, state.attempt_number,
                    state.outcome.exception() if state.outcome else "?")
    return before_sleep


