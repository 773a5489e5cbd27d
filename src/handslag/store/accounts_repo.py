"""Users: creation, lookup and password checks with lockout (argon2id hashes)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handslag.errors import Conflict

from .models.accounts import ROLES, User
from .models.base import utcnow

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong username costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("handslag-dummy-password")


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    user: User | None = None
    reason: str | None = None  # "bad_credentials", "locked"
    locked_until: datetime | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(session: Session, username: str, password: str, role: str = "viewer",
                organisation_id: int | None = None) -> User:
    name = normalise_username(username)
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise ValueError("användarnamnet måste vara 1–100 tecken utan blanksteg")
    if role not in ROLES:
        raise ValueError(f"okänd roll {role!r} (giltiga: {', '.join(ROLES)})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"lösenordet måste vara minst {MIN_PASSWORD_LENGTH} tecken")
    if get_user(session, name) is not None:
        raise Conflict(f"användaren {name!r} finns redan")
    user = User(username=name, password_hash=hash_password(password), role=role, organisation_id=organisation_id,
                active=True, failed_logins=0)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalise_username(username)))


def get_user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> LoginResult:
    """Check a password. Five failures in a row lock the account for 15 minutes (even for the right password)."""
    now = now or utcnow()
    user = get_user(session, username) if username else None
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "x")
        return LoginResult(False, reason="bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(False, user=user, reason="locked", locked_until=user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            return LoginResult(False, user=user, reason="locked", locked_until=user.locked_until)
        return LoginResult(False, user=user, reason="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(True, user=user)
