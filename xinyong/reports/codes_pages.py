"""Credit code pages: the scan page anyone opens from the QR code (``/code/{token}``), the
form for scanners that output text (``/code``), and the subject's own code (``/me/code``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session
from xinyong.core.security import check_csrf, principal_of, require_subject
from xinyong.reports import codes
from xinyong.reports.codes_api import base_url
from xinyong.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/code", response_class=HTMLResponse)
def code_form(request: Request, q: str = "") -> Response:
    q = q.replace("\x00", "").strip()
    if q:
        token = codes.token_from_text(q[:2000])
        if codes.B64.fullmatch(token.replace(".", "")) and "." in token:
            return RedirectResponse(f"/code/{token}", status_code=303)
        return render(request, "codes/scan.html", {
            "result": None, "q": q[:200], "error": {
                "code": "CODE_INVALID",
                "message": "无法识别的信用码：请粘贴扫码得到的完整网址或令牌文本。"},
        }, status=400, nav="verify")  # fmt: skip
    return render(request, "codes/scan.html", {"result": None, "q": "", "error": None},
                  nav="verify")


@router.get("/code/{token}", response_class=HTMLResponse)
def scan_page(
    request: Request, token: str, session: Session = Depends(get_session, scope="function")
) -> HTMLResponse:
    me = principal_of(request)
    try:
        result = codes.verify(
            session, token, account_id=me.account_id, role=me.role, channel="page",
            base_url=base_url(request),
        )  # fmt: skip
    except codes.CodeError as exc:
        session.rollback()
        return render(request, "codes/scan.html", {
            "result": None, "q": token[:200],
            "error": {"code": exc.code, "message": exc.message},
        }, status=exc.status, nav="verify")  # fmt: skip
    return render(request, "codes/scan.html", {"result": result, "q": "", "error": None},
                  nav="verify")


@router.get("/me/code", response_class=HTMLResponse)
def my_code_page(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    assert me.subject_id is not None
    try:
        issued = codes.ensure_code(session, me.subject_id, actor=me.actor,
                                   base_url=base_url(request))
    except codes.CodeError as exc:
        session.rollback()
        return render(request, "codes/mine.html", {
            "issued": None, "error": {"code": exc.code, "message": exc.message},
        }, status=exc.status, nav="me-code")  # fmt: skip
    return render(request, "codes/mine.html", {
        "issued": issued, "error": None,
        "svg": codes.qr_svg(issued["url"], title=f"{issued['subject']['name']}的信用码"),
        "stats": codes.scan_stats(session, me.subject_id),
        "refreshed": request.query_params.get("refreshed") == "1",
    }, nav="me-code")  # fmt: skip


@router.post("/me/code/refresh", response_class=HTMLResponse)
def refresh_my_code(
    request: Request,
    csrf_token: str = Form(""),
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    check_csrf(request, csrf_token)
    assert me.subject_id is not None
    codes.issue_code(session, me.subject_id, actor=me.actor, base_url=base_url(request))
    return RedirectResponse("/me/code?refreshed=1", status_code=303)


@router.get("/me/code.png")
def my_code_png(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    assert me.subject_id is not None
    issued = codes.ensure_code(session, me.subject_id, actor=me.actor, base_url=base_url(request))
    return Response(codes.qr_png(issued["url"]), media_type="image/png", headers={
        "Content-Disposition": f'attachment; filename="credit-code-{issued["serial"]}.png"',
        "Cache-Control": "no-store",
    })  # fmt: skip
