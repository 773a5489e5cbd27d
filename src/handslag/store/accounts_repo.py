"""Users: creation, lookup, password checks with lockout (argon2id hashes) and audited administration."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handslag.errors import Conflict, NotFound

from . import audit
from .models.accounts import ROLES, User
from .models.base import utcnow
from .models.goals import Organisation

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


# --- administration (web page /admin) -------------------------------------------------------------------
# Every change is recorded in the audit log (``handslag.store.audit``) in the same transaction, with the
# user's state before and after; the password hash is never written to the log.

AUDIT_SKIP = ("password_hash",)


class SelfLockout(ValueError):
    """An administrator tried to remove their own admin role or deactivate themselves."""


def user_snapshot(user: User) -> dict:
    """The audited state of a user: every column except the password hash."""
    return audit.row_snapshot(user, skip=AUDIT_SKIP)


def list_users(session: Session, *, include_inactive: bool = True) -> list[User]:
    stmt = select(User).order_by(User.username)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt))


def count_active_admins(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True))) or 0)


def _existing_user(session: Session, user_id: int) -> User:
    user = get_user_by_id(session, user_id)
    if user is None:
        raise NotFound(f"användare {user_id} finns inte")
    return user


def _check_organisation(session: Session, organisation_id: int | None) -> None:
    if organisation_id is None:
        return
    org = session.get(Organisation, organisation_id)
    if org is None or org.deleted_at is not None:
        raise ValueError(f"organisation {organisation_id} finns inte")


def create_user_audited(session: Session, username: str, password: str, *, role: str = "viewer",
                        organisation_id: int | None = None, actor: str) -> User:
    """:func:`create_user` after checking the organisation, with an audit entry ``user/create``."""
    _check_organisation(session, organisation_id)
    user = create_user(session, username, password, role=role, organisation_id=organisation_id)
    audit.record(session, actor=actor, action="create", entity="user", entity_id=user.id,
                 after=user_snapshot(user))
    return user


def _guard_self(user: User, actor_id: int | None, *, role: str | None = None, active: bool | None = None) -> None:
    if actor_id is None or user.id != actor_id:
        return
    if role is not None and user.role == "admin" and role != "admin":
        raise SelfLockout("du kan inte ta bort din egen administratörsroll (be en annan administratör)")
    if active is False:
        raise SelfLockout("du kan inte inaktivera ditt eget konto")


def _guard_last_admin(session: Session, user: User, *, role: str | None = None, active: bool | None = None) -> None:
    loses_admin = user.role == "admin" and user.active and (
        (role is not None and role != "admin") or active is False)
    if loses_admin and count_active_admins(session) <= 1:
        raise SelfLockout("det måste finnas minst en aktiv administratör")


def update_user(session: Session, user_id: int, *, actor: str, actor_id: int | None = None,
                role: str | None = None, organisation_id: int | None = None,
                set_organisation: bool = False) -> tuple[User, list[str]]:
    """Change role and/or organisation. Returns the user and the changed fields (empty: nothing changed,
    no audit entry). ``actor_id`` is the acting user's id: an admin cannot remove their own admin role."""
    user = _existing_user(session, user_id)
    if role is not None and role not in ROLES:
        raise ValueError(f"okänd roll {role!r} (giltiga: {', '.join(ROLES)})")
    _guard_self(user, actor_id, role=role)
    _guard_last_admin(session, user, role=role)
    if set_organisation:
        _check_organisation(session, organisation_id)
    before = user_snapshot(user)
    if role is not None:
        user.role = role
    if set_organisation:
        user.organisation_id = organisation_id
    after = user_snapshot(user)
    changed = audit.changed_fields(before, after)
    if changed:
        session.flush()
        audit.record(session, actor=actor, action="update", entity="user", entity_id=user.id, before=before,
                     after=after)
    return user, changed


def set_active(session: Session, user_id: int, active: bool, *, actor: str,
               actor_id: int | None = None) -> tuple[User, bool]:
    """Deactivate (cannot log in; open sessions end at the next request) or reactivate a user.
    Returns the user and whether anything changed. An admin cannot deactivate themselves."""
    user = _existing_user(session, user_id)
    _guard_self(user, actor_id, active=active)
    _guard_last_admin(session, user, active=active)
    if bool(user.active) == active:
        return user, False
    before = user_snapshot(user)
    user.active = active
    if active:  # a fresh start: no lockout carried over
        user.failed_logins = 0
        user.locked_until = None
    session.flush()
    audit.record(session, actor=actor, action="reactivate" if active else "deactivate", entity="user",
                 entity_id=user.id, before=before, after=user_snapshot(user))
    return user, True


def reset_password(session: Session, user_id: int, password: str, *, actor: str) -> User:
    """Set a new password (argon2id) and lift any lockout; the audit entry says so without the hash."""
    user = _existing_user(session, user_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"lösenordet måste vara minst {MIN_PASSWORD_LENGTH} tecken")
    before = user_snapshot(user)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(session, actor=actor, action="reset_password", entity="user", entity_id=user.id, before=before,
                 after=user_snapshot(user), context={"password": "changed"})
    return user
