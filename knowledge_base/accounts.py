"""Staff accounts, their roles per organisation, and server-side login sessions.

The one role table of the product. Roles are held per organisation:

    counsellor      takes tickets from the shared queue, reads published internal instructions
    supervisor      a counsellor who also sees the organisation's queue figures
    org_admin       manages the organisation's accounts and canned replies
    editor          creates and edits drafts of the organisation's services
    approver        publishes and archives the organisation's services
    platform_admin  everything, in every organisation (held without an organisation)

Passwords are hashed with argon2id; a session cookie holds a random token whose
SHA-256 is the key of its `web_sessions` row, so a database leak gives no cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from knowledge_base.errors import InvalidQuery, NotFound
from knowledge_base.models import Membership, Organisation, User, WebSession

ORGANISATION_ROLES: tuple[str, ...] = ("counsellor", "supervisor", "org_admin", "editor", "approver")
PLATFORM_ADMIN = "platform_admin"
ROLES: tuple[str, ...] = (*ORGANISATION_ROLES, PLATFORM_ADMIN)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both failures take the same time
    (made on first use: hashing costs ~0.1 s, too much for every import)."""
    return _hasher.hash("not a real password, only for timing")


@dataclass(frozen=True)
class Principal:
    """Who is signed in and what they may do; built from the database per request."""

    user_id: int
    email: str
    name: str
    ui_language: str
    roles: frozenset[tuple[str | None, str]]  # (organisation id, role); None for platform_admin

    @property
    def is_platform_admin(self) -> bool:
        return (None, PLATFORM_ADMIN) in self.roles

    def has_role(self, role: str, organisation_id: str | None = None) -> bool:
        """True when the user holds `role` in `organisation_id` (any organisation when None).
        A platform admin holds every role everywhere."""
        if self.is_platform_admin:
            return True
        return any(r == role and (organisation_id is None or org == organisation_id) for org, r in self.roles)

    def has_any_role(self, roles: Iterable[str], organisation_id: str | None = None) -> bool:
        return any(self.has_role(role, organisation_id) for role in roles)

    def organisations(self, *roles: str) -> frozenset[str]:
        """Organisations where the user holds one of `roles` (any role when none given)."""
        return frozenset(org for org, r in self.roles if org is not None and (not roles or r in roles))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def parse_role(text: str) -> tuple[str | None, str]:
    """'org-id:role' or 'platform_admin' -> (organisation id, role)."""
    if text == PLATFORM_ADMIN:
        return None, PLATFORM_ADMIN
    organisation_id, sep, role = text.rpartition(":")
    if not sep or not organisation_id or role not in ORGANISATION_ROLES:
        raise InvalidQuery(f"role {text!r}: expected ORGANISATION:ROLE with ROLE one of {', '.join(ORGANISATION_ROLES)}, or {PLATFORM_ADMIN}")
    return organisation_id, role


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[tuple[str | None, str]],
    now: datetime,
    ui_language: str = "fi",
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidQuery(f"not an e-mail address: {email!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidQuery(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidQuery(f"a user {email} exists already")
    user = User(email=email, name=name.strip() or email, password_hash=hash_password(password), created_at=now, ui_language=ui_language)
    for organisation_id, role in set(roles):
        if role not in ROLES or (role == PLATFORM_ADMIN) != (organisation_id is None):
            raise InvalidQuery(f"invalid role {role!r} for organisation {organisation_id!r}")
        if organisation_id is not None and session.get(Organisation, organisation_id) is None:
            raise NotFound(f"no organisation {organisation_id!r}")
        user.memberships.append(Membership(organisation_id=organisation_id, role=role))
    session.add(user)
    session.flush()
    return user


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        ui_language=user.ui_language,
        roles=frozenset((m.organisation_id, m.role) for m in user.memberships),
    )


def authenticate(session: Session, email: str, password: str) -> Principal | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return principal_of(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """A new login session: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_token_hash(token), user_id=user_id, csrf_token=csrf, created_at=now, expires_at=now + lifetime))
    session.flush()
    return token, csrf


def resolve_session(session: Session, token: str, *, now: datetime) -> tuple[Principal, str] | None:
    """(principal, CSRF token) of a live session, or None for an unknown or expired one."""
    row = session.get(WebSession, _token_hash(token))
    if row is None:
        return None
    expires_at = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=now.tzinfo)
    if expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user), row.csrf_token


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def purge_expired_sessions(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return result.rowcount or 0
