"""Credit code routes (信用码): verify a code (anyone: providers scan, the public checks),
issue one's own code (a subject's account), issue a code for printing (government).

Government may issue a ``print`` code for any subject that may have one (a department prints
it on a licence or a notice): the code shows only what the public profile already shows, so
issuing it discloses nothing, and the issue is audited. Banks and providers only verify.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session, json_response
from xinyong.core.security import principal_of, require_government, require_subject
from xinyong.reports import codes

router = APIRouter(prefix="/api/v1", tags=["信用码"])


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _verify(request: Request, session: Session, token: str) -> Response:
    me = principal_of(request)
    result = codes.verify(
        session, codes.token_from_text(token), account_id=me.account_id, role=me.role,
        channel="api", base_url=base_url(request),
    )  # fmt: skip
    return json_response(result)


@router.get(
    "/credit-codes/{token}",
    summary="核验信用码（扫码所得令牌或完整网址）",
    description="有效时返回 valid=true、主体名称与代码、当前颜色（及签发时颜色、是否变化）、"
    "有效期和公开信息摘要；无效时返回错误代码：CODE_INVALID、CODE_FORGED（400），"
    "CODE_EXPIRED、CODE_SUPERSEDED、CODE_KEY_RETIRED、CODE_SUBJECT_INACTIVE（410），"
    "CODE_UNKNOWN（404）。",
)
def verify_get(
    token: str, request: Request, session: Session = Depends(get_session, scope="function")
) -> Any:
    return _verify(request, session, token)


class VerifyBody(BaseModel):
    token: str = Field(..., max_length=2000, description="信用码令牌，或扫码得到的完整网址")


@router.post("/credit-codes/verify", summary="核验信用码（POST）")
def verify_post(
    request: Request,
    body: VerifyBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
) -> Any:
    return _verify(request, session, body.token)


@router.get("/credit-codes/{token}/qr.png", summary="信用码二维码图片（PNG）")
def token_png(token: str, request: Request) -> Response:
    # Only the platform's own tokens: the image is never a QR code of arbitrary text.
    codes.decode_token(token)
    png = codes.qr_png(codes.scan_url(token, base_url(request)))
    return Response(png, media_type="image/png")


class IssueBody(BaseModel):
    code: str = Field(..., max_length=40, description="主体的统一社会信用代码")
    purpose: str = Field("print", description="print（打印用，长期有效）或 dynamic")


@router.post(
    "/credit-codes",
    summary="为主体签发信用码（政府部门，如打印在证照上）",
    status_code=201,
)
def issue_for_subject(
    request: Request,
    body: IssueBody = Body(...),
    me: Principal = Depends(require_government),
    session: Session = Depends(get_session, scope="function"),
) -> Any:
    subject = codes.find_subject_by_code(session, body.code)
    issued = codes.issue_code(
        session, subject.id, actor=me.actor, purpose=body.purpose, base_url=base_url(request)
    )
    return json_response(issued, status_code=201)


@router.get("/me/credit-code", summary="本主体当前的信用码（无有效码时签发一个）")
def my_code(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Any:
    assert me.subject_id is not None
    return json_response(
        codes.ensure_code(session, me.subject_id, actor=me.actor, base_url=base_url(request))
    )


@router.post("/me/credit-code", summary="刷新本主体的信用码（旧码随即作废）", status_code=201)
def refresh_my_code(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Any:
    assert me.subject_id is not None
    issued = codes.issue_code(
        session, me.subject_id, actor=me.actor, base_url=base_url(request)
    )
    return json_response(issued, status_code=201)


def _my_image(request: Request, session: Session, me: Principal, kind: str) -> Response:
    assert me.subject_id is not None
    issued = codes.ensure_code(session, me.subject_id, actor=me.actor, base_url=base_url(request))
    headers = {"Cache-Control": "no-store"}
    if kind == "png":
        headers["Content-Disposition"] = f'attachment; filename="credit-code-{issued["serial"]}.png"'
        return Response(codes.qr_png(issued["url"]), media_type="image/png", headers=headers)
    svg = codes.qr(issued["url"]).svg_inline(scale=5, border=4, title="信用码")
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/me/credit-code.png", summary="本主体信用码二维码（PNG 下载）")
def my_png(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _my_image(request, session, me, "png")


@router.get("/me/credit-code.svg", summary="本主体信用码二维码（SVG）")
def my_svg(
    request: Request,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _my_image(request, session, me, "svg")
