"""Account pages: login and logout, registration, password, the message centre, the subject's
portal entry, and the administrator's accounts, tokens and departments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts import service
from xinyong.accounts.principal import (
    DEPARTMENT_KEY_SCOPES,
    ROLE_LABELS,
    ROLE_SCOPES,
    SCOPE_LABELS,
    Principal,
)
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    admin_form,
    check_csrf,
    login_form,
    require_admin,
    require_login,
    require_subject,
)
from xinyong.departments import service as departments
from xinyong.web.render import PAGE_SIZE, page_number, pager, render

router = APIRouter(include_in_schema=False)

HOME = {
    "admin": "/admin",
    "department_officer": "/dept",
    "subject": "/me",
    "bank": "/",
    "provider": "/",
}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path: never another host ("//evil", "/\\evil", "https://…")."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(c in target for c in "\r\n\\"):
        return default
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


# ------------------------------------------------------------------------------ login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "accounts/login.html", {"next": safe_next(next, "")}, nav="login")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    csrf_token: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    check_csrf(request, csrf_token)
    target = safe_next(next, "")
    if not username.strip() or not password:
        return render(request, "accounts/login.html", {
            "next": target, "username": username, "error": "请输入用户名和密码。"},
            status=400, nav="login")
    try:
        result = service.login(session, username, password, _client(request))
    except DomainError as exc:
        # The failed-login counter must be kept even though this request fails.
        session.commit()
        return render(request, "accounts/login.html", {
            "next": target, "username": username, "error": exc.message},
            status=exc.status, nav="login")
    response = RedirectResponse(target or HOME.get(result.account.role, "/"), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, result.token, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
        max_age=service.SESSION_MAX_HOURS * 3600,
    )
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request, _: Principal = Depends(login_form), session: Session = Depends(get_session, scope="function")
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(session, token)
    response = RedirectResponse("/?logged_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------ register

REGISTER_ROLES = {"subject": "企业（信用主体）", "bank": "金融机构", "provider": "激励服务机构"}


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> HTMLResponse:
    return render(request, "accounts/register.html", {"roles": REGISTER_ROLES, "form": {}},
                  nav="register")


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    role: str = Form("subject"),
    username: str = Form(""),
    password: str = Form(""),
    password2: str = Form(""),
    display_name: str = Form(""),
    uscc: str = Form(""),
    email: str = Form(""),
    phone: str = Form(""),
    csrf_token: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    check_csrf(request, csrf_token)
    form = {"role": role, "username": username, "display_name": display_name, "uscc": uscc,
            "email": email}
    error = None
    if password != password2:
        error = "两次输入的密码不一致：请重新输入。"
    else:
        try:
            service.register(session, role=role, username=username, password=password,
                             display_name=display_name, uscc=uscc or None, email=email or None,
                             phone=phone or None)
        except DomainError as exc:
            session.rollback()
            error = exc.message
    if error:
        return render(request, "accounts/register.html",
                      {"roles": REGISTER_ROLES, "form": form, "error": error},
                      status=400, nav="register")
    return render(request, "accounts/registered.html", {"username": username.strip()},
                  nav="register")


# ------------------------------------------------------------------------------ own account


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, me: Principal = Depends(require_login)) -> HTMLResponse:
    return render(request, "accounts/password.html", {}, nav="account")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    current: str = Form(""),
    new: str = Form(""),
    new2: str = Form(""),
    me: Principal = Depends(login_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    if me.account_id is None:
        raise DomainError("ACCOUNT_UNKNOWN", "运维令牌没有密码可改", status=400)
    error = None
    if new != new2:
        error = "两次输入的新密码不一致：请重新输入。"
    else:
        try:
            service.set_password(session, me.account_id, new, me, current=current)
        except DomainError as exc:
            session.rollback()
            error = exc.message
    if error:
        return render(request, "accounts/password.html", {"error": error}, status=400,
                      nav="account")
    # Every session ended with the change, this one too: log in again with the new password.
    response = RedirectResponse("/login?changed=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_class=HTMLResponse)
def my_profile(me: Principal = Depends(require_subject), session: Session = Depends(get_session, scope="function")
               ) -> Response:
    """The subject's portal: its own profile (the subject view, with its grades and their
    explanations, is what ``/subjects/{code}`` shows to the subject's own account)."""
    from xinyong.subjects.models import Subject

    subject = session.get(Subject, me.subject_id)
    code = (subject.uscc if subject else None) or str(me.subject_id)
    return RedirectResponse(f"/subjects/{code}", status_code=303)


@router.get("/me/messages", response_class=HTMLResponse)
def messages_page(
    request: Request, page: str | None = None, unread: str = "",
    me: Principal = Depends(require_login), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    n = page_number(page)
    rows, total = ([], 0)
    if me.account_id is not None:
        rows, total = service.messages(session, me.account_id, unread_only=unread == "1",
                                       limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "accounts/messages.html", {
        "messages": rows, "total": total, "unread_only": unread == "1",
        "pager": pager(request, n, total=total),
    }, nav="messages")


@router.post("/me/messages/read")
def read_messages(
    message_id: str = Form(""), me: Principal = Depends(login_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    if me.account_id is not None:
        service.mark_read(session, me.account_id,
                          int(message_id) if message_id.isdigit() else None)
    return RedirectResponse("/me/messages", status_code=303)


# ------------------------------------------------------------------------------ admin: accounts

ACCOUNT_SORTS = {"created_desc": "最新注册在前", "created_asc": "最早注册在前",
                 "username": "按用户名", "role": "按角色"}
OFFICE_ROLES = {k: v for k, v in ROLE_LABELS.items() if k not in ("public", "department_system")}


@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(
    request: Request, role: str = "", status: str = "", q: str = "", sort: str = "",
    page: str | None = None,
    _: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    n = page_number(page)
    role = role if role in ROLE_LABELS else ""
    status = status if status in service.STATUS_LABELS else ""
    sort = sort if sort in ACCOUNT_SORTS else "created_desc"
    rows, total = service.list_accounts(session, role=role or None, status=status or None,
                                        q=q.strip()[:64] or None, sort=sort,
                                        limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "accounts/admin_accounts.html", {
        "accounts": rows, "total": total, "role": role, "status": status, "q": q.strip()[:64],
        "sort": sort, "sorts": ACCOUNT_SORTS, "statuses": service.STATUS_LABELS,
        "pager": pager(request, n, total=total),
    }, nav="admin-accounts")


def _new_page(request: Request, session: Session, status: int = 200, **extra: Any
              ) -> HTMLResponse:
    ctx = {"roles": OFFICE_ROLES, "departments": departments.list_departments(session),
           "form": {}, "error": None}
    ctx.update(extra)
    return render(request, "accounts/admin_account_new.html", ctx, status=status,
                  nav="admin-accounts")


@router.get("/admin/accounts/new", response_class=HTMLResponse)
def new_account_page(request: Request, _: Principal = Depends(require_admin),
                     session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _new_page(request, session)


@router.post("/admin/accounts/new", response_class=HTMLResponse)
def create_account(
    request: Request,
    role: str = Form(""), username: str = Form(""), display_name: str = Form(""),
    password: str = Form(""), department: str = Form(""), subject: str = Form(""),
    email: str = Form(""),
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = {"role": role, "username": username, "display_name": display_name,
            "department": department, "subject": subject, "email": email}
    try:
        account = service.create_account(
            session, username=username, display_name=display_name, role=role, by=me,
            password=password, department=department or None, subject=subject or None,
            organisation=display_name if role in ("bank", "provider") else None,
            email=email or None)
    except DomainError as exc:
        session.rollback()
        return _new_page(request, session, status=exc.status, form=form, error=exc.message)
    return RedirectResponse(f"/admin/accounts/{account.id}?created=1", status_code=303)


def _account_page(request: Request, session: Session, account_id: int, status: int = 200,
                  **extra: Any) -> HTMLResponse:
    account = service.get_account(session, account_id)
    dept = subject = None
    if account.department_id:
        from xinyong.departments.models import Department

        dept = session.get(Department, account.department_id)
    if account.subject_id:
        from xinyong.subjects.models import Subject

        subject = session.get(Subject, account.subject_id)
    role_scopes = sorted(ROLE_SCOPES.get(account.role, ()))
    ctx = {
        "a": account, "department": dept, "subject": subject,
        "tokens": service.account_tokens(session, account.id),
        "statuses": service.STATUS_LABELS, "scope_labels": SCOPE_LABELS,
        "role_scopes": role_scopes, "error": None, "new_token": None,
        "created": request.query_params.get("created") == "1",
        "token_days": service.TOKEN_DEFAULT_DAYS,
    }
    ctx.update(extra)
    return render(request, "accounts/admin_account.html", ctx, status=status,
                  nav="admin-accounts")


@router.get("/admin/accounts/{account_id}", response_class=HTMLResponse)
def account_page(request: Request, account_id: int, _: Principal = Depends(require_admin),
                 session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _account_page(request, session, account_id)


@router.post("/admin/accounts/{account_id}/{action}", response_class=HTMLResponse)
def account_action(
    request: Request, account_id: int, action: str,
    reason: str = Form(""), password: str = Form(""),
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> Response:
    actions = {
        "approve": lambda: service.decide(session, account_id, True, me),
        "reject": lambda: service.decide(session, account_id, False, me, reason),
        "disable": lambda: service.set_status(session, account_id, "disabled", me),
        "enable": lambda: service.set_status(session, account_id, "active", me),
        "unlock": lambda: service.unlock(session, account_id, me),
        "password": lambda: service.set_password(session, account_id, password, me),
    }
    if action not in actions:
        raise DomainError("NOT_FOUND", "没有这个操作：请从账号页面上的按钮操作", status=404)
    try:
        actions[action]()
    except DomainError as exc:
        session.rollback()
        return _account_page(request, session, account_id, status=exc.status, error=exc.message)
    return RedirectResponse(f"/admin/accounts/{account_id}", status_code=303)


@router.post("/admin/accounts/{account_id}/tokens/new", response_class=HTMLResponse)
async def issue_token(
    request: Request, account_id: int,
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    form = await request.form()
    scopes = [str(s) for s in form.getlist("scope")]
    name = str(form.get("name") or "")
    days_raw = str(form.get("days") or service.TOKEN_DEFAULT_DAYS)
    try:
        days = int(days_raw) if days_raw.isdigit() else -1
        _, clear = service.issue_token(session, account_id, name=name, scopes=scopes, by=me,
                                       days=days)
    except DomainError as exc:
        session.rollback()
        return _account_page(request, session, account_id, status=exc.status, error=exc.message)
    # Shown once, in this response only; the database keeps its digest.
    return _account_page(request, session, account_id, new_token=clear)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: int, me: Principal = Depends(admin_form),
                 session: Session = Depends(get_session, scope="function")) -> Response:
    token = service.revoke_token(session, token_id, me)
    return RedirectResponse(f"/admin/accounts/{token.account_id}", status_code=303)


# ------------------------------------------------------------------------------ admin: departments


def _departments_page(request: Request, session: Session, status: int = 200, **extra: Any
                      ) -> HTMLResponse:
    rows = departments.list_departments(session)
    ctx = {
        "departments": [(d, service.department_key(session, d.id)) for d in rows],
        "form": {}, "error": None, "new_key": None, "key_scopes": DEPARTMENT_KEY_SCOPES,
        "scope_labels": SCOPE_LABELS,
    }
    ctx.update(extra)
    return render(request, "accounts/admin_departments.html", ctx, status=status,
                  nav="admin-departments")


@router.get("/admin/departments", response_class=HTMLResponse)
def departments_page(request: Request, _: Principal = Depends(require_admin),
                     session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _departments_page(request, session)


@router.post("/admin/departments", response_class=HTMLResponse)
def add_department(
    request: Request, code: str = Form(""), name: str = Form(""), uscc: str = Form(""),
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    try:
        departments.add_department(session, code, name, uscc.strip() or None, by=me)
    except DomainError as exc:
        session.rollback()
        return _departments_page(request, session, status=exc.status,
                                 form={"code": code, "name": name, "uscc": uscc},
                                 error=exc.message)
    return _departments_page(request, session, added=code.strip())


@router.post("/admin/departments/{code}/key", response_class=HTMLResponse)
def issue_department_key(
    request: Request, code: str,
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    key = departments.issue_api_key(session, code, by=me)
    return _departments_page(request, session, new_key=(code, key))


@router.post("/admin/departments/{code}/key/revoke", response_class=HTMLResponse)
def revoke_department_key(
    request: Request, code: str,
    me: Principal = Depends(admin_form), session: Session = Depends(get_session, scope="function"),
) -> Response:
    departments.revoke_api_key(session, code, by=me)
    return RedirectResponse("/admin/departments", status_code=303)

