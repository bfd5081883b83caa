"""When the stored admin token is refreshed ahead, and when an operator is warned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.admin_grants import Grant, TokenPair
from bot.webex.admin_token import grant_problem, refresh_due

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def pair(lifetime: int, left: float, refresh_left: timedelta | None = None) -> TokenPair:
    return TokenPair("a", "r", NOW + timedelta(seconds=left), lifetime,
                     NOW + refresh_left if refresh_left else None)


def test_a_14_day_token_is_refreshed_with_a_tenth_of_its_life_left():
    fourteen_days = 14 * 24 * 3600
    assert not refresh_due(pair(fourteen_days, fourteen_days * 0.1 + 60), NOW)
    assert refresh_due(pair(fourteen_days, fourteen_days * 0.1 - 60), NOW)


def test_an_hour_long_token_is_refreshed_with_half_an_hour_left_and_a_minute_long_one_at_30_s():
    assert not refresh_due(pair(3600, 1900), NOW) and refresh_due(pair(3600, 1700), NOW)
    assert not refresh_due(pair(60, 31), NOW) and refresh_due(pair(60, 29), NOW)


def grant(**changes) -> Grant:
    values = dict(kind="integration", client_id="c", pair=pair(3600, 3000, timedelta(days=60)),
                  owner_id="p", owner_name="P", org_id="o", scopes=("s",), version=1,
                  authorized_at=NOW, refreshed_at=None, problem=None, announced_problem=None)
    return Grant(**(values | changes))


def test_a_refresh_token_about_to_expire_is_a_problem_with_what_to_do():
    assert grant_problem(grant(), NOW) is None
    soon = grant(pair=pair(3600, 3000, timedelta(days=6)), kind="service-app")
    problem = grant_problem(soon, NOW)
    assert problem is not None and "2026-12-08" in problem and "admin service-app" in problem


def test_a_refused_refresh_is_the_problem():
    assert grant_problem(grant(problem="refused: run it"), NOW) == "refused: run it"
