"""Failed logins make the next attempt wait — growing delays, never a lockout.

Someone guessing one account from one place waits longest; a name tried from many places, or one address trying
many names (a whole office behind one gateway), waits briefly. A stranger must not keep the account's owner out
(issue 40, medium: a name tried from elsewhere made its owner wait half the time), so the name-wide delay does not
apply at an address the account signed in from lately: the owner at the usual desk signs in at once, while a
guesser at any new address still waits. Names tried from many addresses are listed for the security officer."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from archive_service.auth.models import LoginAttempt, RequesterStanding, User
from archive_service.config import get_settings
from archive_service.db import as_utc, utcnow

KNOWN_ADDRESS_DAYS = 90  # an address the account signed in from within this many days is the owner's
TARGETED_ADDRESSES = 3  # failures of one name from this many addresses in a day are shown to the security officer


@dataclass(frozen=True)
class _Delay:
    """How long one kind of repeated failure waits: nothing below `after` failures, then `first` seconds,
    doubling with each further failure up to `longest`."""

    after: int
    first: int
    longest: int

    def seconds(self, failures: int) -> int:
        if failures < self.after:
            return 0
        return min(self.first * 2 ** (failures - self.after), self.longest)


def _login_delays(max_failures: int, window_minutes: int) -> dict[str, _Delay]:
    return {
        "account_and_address": _Delay(max_failures, 30, window_minutes * 60),
        "account": _Delay(max_failures * 3, 5, 60),
        "address": _Delay(max_failures * 10, 5, 60),
    }


def _known_address(session: Session, username: str, client_address: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.client_address == client_address,
                LoginAttempt.succeeded.is_(True),
                LoginAttempt.at >= now - timedelta(days=KNOWN_ADDRESS_DAYS),
            )
            .limit(1)
        )
        is not None
    )


def login_wait_seconds(session: Session, username: str, client_address: str) -> int:
    """Seconds before this name may try again from this address (0: now)."""
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    scopes = {
        "account_and_address": (LoginAttempt.username == username) & (LoginAttempt.client_address == client_address),
        "account": LoginAttempt.username == username,
        "address": LoginAttempt.client_address == client_address,
    }
    if _known_address(session, username, client_address, now):
        del scopes["account"]  # failures elsewhere do not keep the owner out at the usual desk
    delays = _login_delays(settings.login_max_failures, settings.login_window_minutes)
    wait = 0.0
    for scope, condition in scopes.items():
        failures, last = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False), condition
            )
        ).one()
        delay = delays[scope].seconds(failures or 0)
        if delay and last is not None:
            wait = max(wait, (as_utc(last) + timedelta(seconds=delay) - now).total_seconds())
    return math.ceil(wait)


@dataclass(frozen=True)
class Targeted:
    user: User
    failures: int
    addresses: int
    last: datetime


def targeted_accounts(session: Session, bureau_id: int) -> list[Targeted]:
    """The bureau's accounts (its staff, the requesters it created) whose name failed from several addresses in
    the last day: someone elsewhere is trying them."""
    homes = select(RequesterStanding.user_id).where(
        RequesterStanding.bureau_id == bureau_id, RequesterStanding.home.is_(True)
    )
    rows = session.execute(
        select(User.id, func.count(), func.count(distinct(LoginAttempt.client_address)), func.max(LoginAttempt.at))
        .join(LoginAttempt, LoginAttempt.username == User.username)
        .where(
            or_(User.organisation_id == bureau_id, User.id.in_(homes)),
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= utcnow() - timedelta(days=1),
        )
        .group_by(User.id)
        .having(func.count(distinct(LoginAttempt.client_address)) >= TARGETED_ADDRESSES)
        .order_by(func.count().desc(), User.id)
    ).all()
    return [Targeted(session.get_one(User, i), failures, addresses, last) for i, failures, addresses, last in rows]
