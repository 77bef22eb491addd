"""Accounts: registration and approval, login with lock-out, sessions, API tokens, messages.

The only code that writes the account tables. Every state change is written to the audit log in
the caller's transaction, so an account change and its audit entry commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.accounts.models import Account, ApiToken, AuthSession, Message
from xinyong.accounts.principal import (
    DEPARTMENT_KEY_SCOPES,
    ROLE_LABELS,
    ROLE_SCOPES,
    SCOPE_LABELS,
    Principal,
)
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.departments.models import Department

# Login failure handling (GB/T 22239-2019 《网络安全等级保护基本要求》8.1.4.1 a/b: identify
# users uniquely, limit failed logins, end idle sessions). Policy as data, in one place.
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 8
TOKEN_DEFAULT_DAYS = 365
TOKEN_MAX_DAYS = 730
PASSWORD_MIN_LENGTH = 8

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
STATUS_LABELS = {"pending": "待审核", "active": "正常", "disabled": "已停用", "rejected": "未通过"}
# who may register themselves (and wait for approval); officers and admins are created by the office
SELF_REGISTER_ROLES = ("subject", "bank", "provider")

_hasher = PasswordHasher()
# A verification against this keeps a login for an unknown user as slow as for a known one, so
# timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: they were written as China Standard Time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=clock.CST)


def _audit(conn: Connection, by: Principal, action: str, **fields: Any) -> None:
    from xinyong.audit.service import append

    append(conn, actor=by.actor, role=by.role, action=action, **fields)


# ------------------------------------------------------------------------------ passwords


def check_password_policy(password: str, username: str = "") -> None:
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"至少 {PASSWORD_MIN_LENGTH} 位")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("同时包含字母和数字")
    if username and username.lower() in password.lower():
        problems.append("不能包含用户名")
    if problems:
        raise DomainError("PASSWORD_WEAK", "密码不符合要求：请设置" + "、".join(problems) + "的密码")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# ------------------------------------------------------------------------------ accounts


def _department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise DomainError("DEPARTMENT_UNKNOWN", f"部门「{code}」未登记：请先在“部门与密钥”中添加", status=404)
    return dept


def _subject_id(session: Session, code: str) -> int:
    from xinyong.subjects.service import find_subject

    subject = find_subject(session, code.strip())
    if subject is None or subject.uscc is None:
        raise DomainError(
            "ACCOUNT_SUBJECT_UNKNOWN",
            f"未找到统一社会信用代码为「{code.strip()[:32]}」的信用主体：请核对代码（18 位）后重试",
            status=404,
        )
    return subject.id


def _check_username(session: Session, username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise DomainError(
            "ACCOUNT_USERNAME_INVALID",
            "用户名须为 3–64 位字母、数字、下划线、点或连字符，并以字母或数字开头",
        )
    taken = session.scalar(
        select(Account.id).where(func.lower(Account.username) == username.lower())
    )
    if taken is not None:
        raise DomainError("ACCOUNT_USERNAME_TAKEN", f"用户名「{username}」已被使用：请换一个", status=409)
    return username


def create_account(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    by: Principal,
    password: str | None = None,
    department: str | None = None,
    subject: str | None = None,
    organisation: str | None = None,
    organisation_uscc: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    status: str = "active",
) -> Account:
    """An account created by the office (active at once) or by registration (pending)."""
    if role not in ROLE_SCOPES or role == "public":
        raise DomainError("ACCOUNT_ROLE_INVALID", f"未知角色「{role}」：可选 " + "、".join(
            f"{k}（{v}）" for k, v in ROLE_LABELS.items() if k != "public"))
    username = _check_username(session, username)
    display_name = (display_name or "").strip()
    if not display_name:
        raise DomainError("ACCOUNT_NAME_REQUIRED", "请填写名称（单位名称或姓名）")
    dept_id = subject_id = None
    if role in ("department_officer", "department_system"):
        if not department:
            raise DomainError("ACCOUNT_DEPARTMENT_REQUIRED", "部门账号须指定所属部门")
        dept_id = _department(session, department).id
    if role == "subject":
        if not subject:
            raise DomainError("ACCOUNT_SUBJECT_REQUIRED", "主体账号须填写本主体的统一社会信用代码")
        subject_id = _subject_id(session, subject)
    if role in ("bank", "provider") and not (organisation or display_name):
        raise DomainError("ACCOUNT_ORGANISATION_REQUIRED", "请填写机构名称")
    password_hash = None
    if role != "department_system":
        if not password:
            raise DomainError("PASSWORD_REQUIRED", "请设置登录密码")
        check_password_policy(password, username)
        password_hash = hash_password(password)
    phone_masked = None
    if phone:
        from xinyong.subjects.idnumbers import mask_phone

        phone_masked = mask_phone(phone)
    now = clock.now()
    account = Account(
        username=username, display_name=display_name, role=role, status=status,
        department_id=dept_id, subject_id=subject_id,
        organisation=(organisation or "").strip() or None,
        organisation_uscc=(organisation_uscc or "").strip().upper() or None,
        email=(email or "").strip() or None, phone_masked=phone_masked,
        password_hash=password_hash, failed_logins=0, created_at=now,
        decided_at=now if status == "active" else None,
        decided_by=by.actor if status == "active" else None,
    )
    session.add(account)
    session.flush()
    _audit(session.connection(), by, "account.create" if status == "active" else "account.register",
           subject_id=subject_id, target=f"account:{account.id}",
           detail={"username": username, "role": role, "status": status,
                   "department": department})
    return account


def register(
    session: Session,
    *,
    role: str,
    username: str,
    password: str,
    display_name: str,
    uscc: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Account:
    """Self-registration of an enterprise, a bank or an incentive provider: the account waits
    for the office's approval before it can log in."""
    if role not in SELF_REGISTER_ROLES:
        raise DomainError("ACCOUNT_ROLE_INVALID", "只能注册企业（信用主体）、金融机构或激励服务机构账号")
    if role == "subject" and not (uscc or "").strip():
        raise DomainError("ACCOUNT_SUBJECT_REQUIRED", "请填写本企业的统一社会信用代码")
    account = create_account(
        session, username=username, display_name=display_name, role=role,
        by=Principal(role="public", username=username.strip(), display_name=display_name),
        password=password, subject=uscc if role == "subject" else None,
        organisation=display_name if role != "subject" else None,
        organisation_uscc=uscc, email=email, phone=phone, status="pending",
    )
    return account


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise DomainError("ACCOUNT_UNKNOWN", f"账号 {account_id} 不存在", status=404)
    return account


def decide(session: Session, account_id: int, approve: bool, by: Principal,
           reason: str = "") -> Account:
    account = get_account(session, account_id)
    if account.status != "pending":
        raise DomainError(
            "ACCOUNT_NOT_PENDING",
            f"账号「{account.username}」当前状态为“{STATUS_LABELS[account.status]}”，无需审核",
            status=409,
        )
    if not approve and not reason.strip():
        raise DomainError("ACCOUNT_REASON_REQUIRED", "不予通过时请填写理由，理由会告知申请人")
    account.status = "active" if approve else "rejected"
    account.decided_at = clock.now()
    account.decided_by = by.actor
    account.note = reason.strip() or None
    session.flush()
    send_message(
        session.connection(), account.id, kind="account",
        title="账号审核通过" if approve else "账号审核未通过",
        body=("您的账号已通过平台审核，现在可以登录使用。" if approve
              else f"您的账号申请未通过审核，理由：{reason.strip()}。如有疑问请联系平台管理部门。"),
    )
    _audit(session.connection(), by, "account.approve" if approve else "account.reject",
           subject_id=account.subject_id, target=f"account:{account.id}",
           detail={"username": account.username, "reason": reason.strip() or None})
    return account


def set_status(session: Session, account_id: int, status: str, by: Principal) -> Account:
    """Disable or re-enable an account; disabling ends its sessions and revokes its tokens."""
    if status not in ("active", "disabled"):
        raise DomainError("ACCOUNT_STATUS_INVALID", "账号状态只能设为正常或停用")
    account = get_account(session, account_id)
    if account.status in ("pending", "rejected"):
        raise DomainError("ACCOUNT_NOT_DECIDED", "待审核或未通过的账号请使用审核操作", status=409)
    if by.account_id == account.id and status == "disabled":
        raise DomainError("ACCOUNT_SELF_DISABLE", "不能停用自己正在使用的账号", status=409)
    account.status = status
    now = clock.now()
    if status == "disabled":
        session.query(AuthSession).filter(AuthSession.account_id == account.id).delete()
        session.execute(
            update(ApiToken)
            .where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    else:
        account.failed_logins = 0
        account.locked_until = None
    session.flush()
    _audit(session.connection(), by, f"account.{'disable' if status == 'disabled' else 'enable'}",
           target=f"account:{account.id}", detail={"username": account.username})
    return account


def unlock(session: Session, account_id: int, by: Principal) -> Account:
    account = get_account(session, account_id)
    account.failed_logins = 0
    account.locked_until = None
    session.flush()
    _audit(session.connection(), by, "account.unlock", target=f"account:{account.id}",
           detail={"username": account.username})
    return account


def set_password(session: Session, account_id: int, new: str, by: Principal,
                 current: str | None = None) -> None:
    """An account changes its own password (``current`` required) or the office resets it; all
    the account's sessions end either way."""
    account = get_account(session, account_id)
    if current is not None and not _verify(account.password_hash, current):
        raise DomainError("PASSWORD_WRONG", "原密码不正确：请重新输入")
    check_password_policy(new, account.username)
    account.password_hash = hash_password(new)
    account.failed_logins = 0
    account.locked_until = None
    session.query(AuthSession).filter(AuthSession.account_id == account.id).delete()
    session.flush()
    _audit(session.connection(), by, "account.password", target=f"account:{account.id}",
           detail={"username": account.username, "reset_by_office": current is None})


SORTS = {
    "created_desc": Account.created_at.desc(),
    "created_asc": Account.created_at.asc(),
    "username": Account.username.asc(),
    "role": Account.role.asc(),
}


def list_accounts(
    session: Session, *, role: str | None = None, status: str | None = None,
    q: str | None = None, sort: str = "created_desc", limit: int = 20, offset: int = 0,
) -> tuple[list[Account], int]:
    stmt = select(Account)
    if role:
        stmt = stmt.where(Account.role == role)
    if status:
        stmt = stmt.where(Account.status == status)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Account.username.like(like), Account.display_name.like(like),
                              Account.organisation.like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(SORTS.get(sort, SORTS["created_desc"]), Account.id.desc())
        .limit(limit).offset(offset)
    )
    return list(rows), total


# ------------------------------------------------------------------------------ login


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class LoginResult:
    account: Account
    token: str  # the cookie value; only its digest is stored


def login(session: Session, username: str, password: str, client: str | None = None
          ) -> LoginResult:
    """Check a password; five failures in a row lock the account for 15 minutes."""
    now = clock.now()
    account = session.scalar(
        select(Account).where(func.lower(Account.username) == username.strip().lower())
    )
    failed = DomainError("AUTH_FAILED", "用户名或密码不正确：请核对后重试（连续输错 "
                         f"{MAX_FAILED_LOGINS} 次将锁定 {LOCK_MINUTES} 分钟）", status=401)
    if account is None or account.role == "department_system":
        _verify(None, password)
        raise failed
    locked = _aware(account.locked_until)
    if locked is not None and locked > now:
        raise DomainError(
            "AUTH_LOCKED",
            f"登录失败次数过多，账号已锁定至 {locked.astimezone(clock.CST):%H:%M}：请稍后再试，"
            "或联系平台管理员解锁",
            status=423,
        )
    if not _verify(account.password_hash, password):
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            account.failed_logins = 0
            _audit(session.connection(), Principal(role=account.role, username=account.username),
                   "account.locked", target=f"account:{account.id}",
                   detail={"client": client, "minutes": LOCK_MINUTES})
            session.flush()
            # Say so on the attempt that locks, not only on the next one.
            raise DomainError(
                "AUTH_LOCKED",
                f"连续 {MAX_FAILED_LOGINS} 次密码错误，账号已锁定至 "
                f"{account.locked_until.astimezone(clock.CST):%H:%M}：请稍后再试，或联系平台管理员解锁",
                status=423,
            )
        session.flush()
        raise failed
    if account.status != "active":
        raise DomainError(
            "AUTH_NOT_ACTIVE",
            {"pending": "账号正在审核中：审核通过后即可登录，结果会通过消息通知您",
             "rejected": "账号申请未通过审核：请查看通知中的理由，或重新注册",
             "disabled": "账号已停用：如需恢复请联系平台管理员"}[account.status],
            status=403,
        )
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(
        id=digest(token), account_id=account.id, created_at=now,
        expires_at=now + dt.timedelta(minutes=SESSION_IDLE_MINUTES), client=(client or "")[:64],
    ))
    session.flush()
    _audit(session.connection(), Principal(role=account.role, username=account.username),
           "account.login", target=f"account:{account.id}", detail={"client": client})
    return LoginResult(account, token)


def logout(session: Session, token: str) -> None:
    session.query(AuthSession).filter(AuthSession.id == digest(token)).delete()
    session.flush()


def _principal(row: Any, *, via: str, scopes: frozenset[str] | None = None,
               session_id: str | None = None) -> Principal:
    return Principal(
        role=row.role, account_id=row.id, username=row.username,
        display_name=row.display_name, department_id=row.department_id,
        department_code=row.dept_code, department_name=row.dept_name,
        subject_id=row.subject_id, token_scopes=scopes, via=via, session_id=session_id,
    )


def _account_columns() -> list[Any]:
    return [Account.id, Account.role, Account.username, Account.display_name,
            Account.department_id, Account.subject_id, Account.status,
            Department.code.label("dept_code"), Department.name.label("dept_name")]


Write = Callable[[Connection], None]


def resolve_session(conn: Connection, token: str) -> tuple[Principal | None, Write | None]:
    """The principal of a session cookie, and the write to do afterwards, if any: slide its
    idle expiry (at most once a minute per session, so a busy page does not turn every read
    into a write) or delete it once expired. The write is returned, not done, so the caller runs
    it in a short transaction of its own: on SQLite a transaction that has read cannot start
    writing once another connection has committed."""
    sid = digest(token)
    row = conn.execute(
        select(*_account_columns(), AuthSession.created_at.label("s_created"),
               AuthSession.expires_at.label("s_expires"))
        .join(Account, Account.id == AuthSession.account_id)
        .outerjoin(Department, Department.id == Account.department_id)
        .where(AuthSession.id == sid)
    ).first()
    if row is None or row.status != "active":
        return None, None
    now = clock.now()
    expires = _aware(row.s_expires)
    created = _aware(row.s_created)
    assert expires is not None and created is not None
    table = AuthSession.__table__
    if expires <= now or created + dt.timedelta(hours=SESSION_MAX_HOURS) <= now:
        def forget(c: Connection) -> None:
            c.execute(table.delete().where(table.c.id == sid))

        return None, forget
    fresh = now + dt.timedelta(minutes=SESSION_IDLE_MINUTES)
    write = None
    if fresh - expires > dt.timedelta(minutes=1):
        def write(c: Connection) -> None:
            c.execute(table.update().where(table.c.id == sid).values(expires_at=fresh))
    return _principal(row, via="session", session_id=sid), write


def resolve_token(conn: Connection, token: str) -> tuple[Principal | None, Write | None]:
    """The principal of an API token, and (once a day) the write that records its last use."""
    row = conn.execute(
        select(*_account_columns(), ApiToken.id.label("token_id"), ApiToken.scopes,
               ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_on)
        .join(Account, Account.id == ApiToken.account_id)
        .outerjoin(Department, Department.id == Account.department_id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None or row.status != "active" or row.revoked_at is not None:
        return None, None
    expires = _aware(row.expires_at)
    if expires is not None and expires <= clock.now():
        return None, None
    today = clock.today()
    write = None
    if row.last_used_on != today:
        table = ApiToken.__table__

        def write(c: Connection) -> None:
            c.execute(table.update().where(table.c.id == row.token_id)
                      .values(last_used_on=today))
    return _principal(row, via="token", scopes=frozenset(row.scopes.split())), write


# ------------------------------------------------------------------------------ API tokens


def _check_scopes(role: str, scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPE_LABELS]
    if unknown:
        raise DomainError("TOKEN_SCOPE_UNKNOWN", "未知的权限范围：" + "、".join(unknown)
                          + "；可选：" + "、".join(SCOPE_LABELS))
    beyond = [s for s in scopes if s not in ROLE_SCOPES[role]]
    if beyond:
        raise DomainError(
            "TOKEN_SCOPE_BEYOND_ROLE",
            f"“{ROLE_LABELS[role]}”账号的令牌不能包含权限：" + "、".join(beyond),
        )
    if not scopes:
        raise DomainError("TOKEN_SCOPE_REQUIRED", "请至少选择一项权限范围")
    return sorted(set(scopes))


def issue_token(
    session: Session, account_id: int, *, name: str, scopes: list[str], by: Principal,
    days: int = TOKEN_DEFAULT_DAYS, department_key: bool = False,
) -> tuple[ApiToken, str]:
    """A new token; the clear value is returned only here (shown once)."""
    account = get_account(session, account_id)
    if account.status != "active":
        raise DomainError("TOKEN_ACCOUNT_INACTIVE", "只能为状态正常的账号签发令牌", status=409)
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise DomainError("TOKEN_EXPIRY_INVALID", f"有效期须为 1–{TOKEN_MAX_DAYS} 天")
    scopes = _check_scopes(account.role, scopes)
    clear = "xy_" + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        account_id=account.id, name=(name or "").strip()[:100] or "接口令牌", prefix=clear[:10],
        token_hash=digest(clear), scopes=" ".join(scopes), created_at=now, created_by=by.actor,
        expires_at=now + dt.timedelta(days=days), is_department_key=department_key,
    )
    session.add(token)
    session.flush()
    _audit(session.connection(), by, "token.issue", target=f"token:{token.id}",
           detail={"account": account.username, "scopes": scopes, "days": days})
    return token, clear


def revoke_token(session: Session, token_id: int, by: Principal) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise DomainError("TOKEN_UNKNOWN", f"令牌 {token_id} 不存在", status=404)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
        _audit(session.connection(), by, "token.revoke", target=f"token:{token.id}",
               detail={"prefix": token.prefix})
    return token


def account_tokens(session: Session, account_id: int) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.account_id == account_id).order_by(ApiToken.id.desc())
    ))


def system_account(session: Session, dept: Department, by: Principal) -> Account:
    """The department's machine account, which holds its API keys (created on first use)."""
    username = f"sys-{dept.code}"[:64]
    account = session.scalar(select(Account).where(
        Account.department_id == dept.id, Account.role == "department_system"))
    if account is None:
        account = create_account(session, username=username,
                                 display_name=f"{dept.name}（系统接口）",
                                 role="department_system", by=by, department=dept.code)
    return account


def issue_department_key(session: Session, dept: Department, by: Principal,
                         days: int = TOKEN_DEFAULT_DAYS) -> str:
    """A department's key (X-API-Key): replaces the previous one at once."""
    account = system_account(session, dept, by)
    now = clock.now()
    session.execute(
        update(ApiToken)
        .where(ApiToken.account_id == account.id, ApiToken.is_department_key.is_(True),
               ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    _, clear = issue_token(session, account.id, name="部门接口密钥",
                           scopes=list(DEPARTMENT_KEY_SCOPES), by=by, days=days,
                           department_key=True)
    return clear


def revoke_department_key(session: Session, dept: Department, by: Principal) -> int:
    ids = list(session.scalars(
        select(ApiToken.id).join(Account, Account.id == ApiToken.account_id)
        .where(Account.department_id == dept.id, ApiToken.is_department_key.is_(True),
               ApiToken.revoked_at.is_(None))
    ))
    for token_id in ids:
        revoke_token(session, token_id, by)
    return len(ids)


def department_key(session: Session, dept_id: int) -> ApiToken | None:
    """The department's current key (its prefix and expiry are shown, never the key)."""
    return session.scalar(
        select(ApiToken).join(Account, Account.id == ApiToken.account_id)
        .where(Account.department_id == dept_id, ApiToken.is_department_key.is_(True),
               ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc()).limit(1)
    )


# ------------------------------------------------------------------------------ messages


def send_message(conn: Connection, account_id: int, *, kind: str, title: str, body: str,
                 link: str | None = None) -> None:
    conn.execute(Message.__table__.insert().values(
        account_id=account_id, kind=kind, title=title, body=body, link=link,
        created_at=clock.now(),
    ))


def messages(session: Session, account_id: int, *, unread_only: bool = False,
             limit: int = 20, offset: int = 0) -> tuple[list[Message], int]:
    stmt = select(Message).where(Message.account_id == account_id)
    if unread_only:
        stmt = stmt.where(Message.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Message.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def unread_count(session: Session, account_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Message).where(
        Message.account_id == account_id, Message.read_at.is_(None))) or 0


def mark_read(session: Session, account_id: int, message_id: int | None = None) -> int:
    stmt = update(Message).where(Message.account_id == account_id, Message.read_at.is_(None))
    if message_id is not None:
        stmt = stmt.where(Message.id == message_id)
    return session.execute(stmt.values(read_at=clock.now())).rowcount or 0



def notify_grade_changes(conn: Connection, model_name: str, model_title: str, run_id: int
                         ) -> None:
    """A message to each active subject account whose subject changed grade in this run.

    One statement, driven from the (few) subject accounts through the history's
    (subject_id, model_name, id) index, so a million-subject batch does not scan its history.
    Only public models are told to subjects (the caller checks): government-only classes never
    reach them."""
    now = clock.now()
    conn.execute(text(
        "INSERT INTO account_message (account_id, title, body, link, kind, created_at) "
        "SELECT a.id, :title, "
        "'“' || :model_title || '”评价等级由 ' || h.prev_grade || ' 变为 ' || h.grade "
        "|| '（' || CAST(h.as_of AS VARCHAR(10)) || ' 起）。点击查看各项指标的得分说明。', "
        "'/subjects/' || s.uscc || '/evaluations/' || :model, 'grade_change', :now "
        "FROM account a "
        "JOIN subject s ON s.id = a.subject_id "
        "JOIN evaluation_history h ON h.subject_id = a.subject_id AND h.model_name = :model "
        "WHERE a.role = 'subject' AND a.status = 'active' AND h.run_id = :run "
        "AND h.prev_grade IS NOT NULL AND h.grade IS NOT NULL AND h.prev_grade <> h.grade "
        "AND s.uscc IS NOT NULL"
    ), {"title": "信用评价等级变化", "model_title": model_title, "model": model_name,
        "run": run_id, "now": now})
