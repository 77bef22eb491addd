"""Accounts, login sessions and API tokens.

Secrets are never stored: passwords as argon2 hashes, session cookies and API tokens as
SHA-256 digests (they are long random strings, so a fast hash is enough and keeps every request's
lookup cheap; argon2 is for low-entropy human passwords).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # admin | department_officer | department_system | subject | bank | provider
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    # pending (registered, awaiting approval) | active | disabled | rejected
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    # the bank's or incentive provider's organisation, or what a subject registrant declared
    organisation: Mapped[str | None] = mapped_column(String(200))
    organisation_uscc: Mapped[str | None] = mapped_column(String(18))
    email: Mapped[str | None] = mapped_column(String(200))
    # A registrant's phone is personal information: only the masked form is kept for display.
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    # A person registering: the keyed hash of the ID number binds the account to its subject.
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_account_role_status", "role", "status"),
        Index("ix_account_subject", "subject_id"),
        Index("ix_account_department", "department_id"),
    )


class AuthSession(Base):
    """A server-side login session: the cookie holds a random token, the row its digest, so a
    stolen database cannot be replayed as cookies and a logout or lock ends the session at once."""

    __tablename__ = "auth_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    client: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_auth_session_account", "account_id"),)


class ApiToken(Base):
    """A machine credential: scoped, expiring, revocable; the clear token is shown once."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[str] = mapped_column(String(400), nullable=False)  # space-separated
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_on: Mapped[dt.date | None] = mapped_column()
    # A department's key (X-API-Key) is a token of its system account; kept for the listing.
    is_department_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_api_token_account", "account_id"),)


class Message(Base):
    """The in-app message centre of an account (notices of approval, grade changes, ...)."""

    __tablename__ = "account_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str | None] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_account_message_account", "account_id", "id"),)
