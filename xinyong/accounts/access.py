"""The rules of access: which view of a subject's data each caller gets.

Every route and page asks here, and the record queries then apply the view with
``records.profile.visible_clause``: the rule lives where the data is queried, so a page that
forgot to check could still not show more than its caller's view.

- government roles (administrator, department officer, department system) see everything,
  internal records included, and government-only evaluation results;
- a subject account sees its own public and restricted records, in every state, and only the
  public view of anyone else;
- banks, incentive providers and the public see the public view: public records inside their
  publicity period, never repaired or revoked ones, never a natural person's records, never an
  unmasked ID or phone number (《个人信息保护法》第二十八条: ID numbers are sensitive personal
  information), never government-only evaluation results (the SAMR A–D classes are for internal
  supervision, 国市监信发〔2022〕6号).
"""

from __future__ import annotations

from typing import Literal

from xinyong.accounts.principal import Principal
from xinyong.core.errors import DomainError

View = Literal["public", "subject", "government"]


def profile_view(principal: Principal, subject_id: int, requested: str | None = None) -> View:
    """The richest view ``principal`` may have of ``subject_id``, or the narrower one it asked
    for; asking for more than allowed is an error, not a silent downgrade, so that an API
    client never mistakes a public view for a full one."""
    allowed: View = "public"
    if principal.is_government:
        allowed = "government"
    elif principal.allows("self:read") and principal.subject_id == subject_id:
        allowed = "subject"
    if requested in (None, "", "auto"):
        return allowed
    order = {"public": 0, "subject": 1, "government": 2}
    if requested not in order:
        raise DomainError("VIEW_UNKNOWN", f"不支持的视图「{requested}」：可选 public、subject、government")
    if order[requested] > order[allowed]:
        if principal.is_anonymous:
            raise DomainError(
                "AUTH_REQUIRED",
                "该视图需要身份认证：政务视图请提供部门接口密钥（请求头 X-API-Key）或登录部门账号，"
                "主体视图请登录本主体账号",
                status=401,
            )
        raise DomainError(
            "VIEW_FORBIDDEN",
            "无权使用该视图："
            + ("政务视图仅向政府部门开放，请使用部门账号或接口密钥"
               if requested == "government"
               else "主体视图仅向该主体本人的账号开放，请登录本主体账号"),
            status=403,
        )
    return requested  # type: ignore[return-value]


def sees_government_results(principal: Principal) -> bool:
    return principal.is_government


def is_restricted(view: View) -> bool:
    """Reads in these views are reads of restricted data, and are audited."""
    return view != "public"


def audit_restricted_read(
    principal: Principal, view: View, subject_id: int, *, action: str, purpose: str,
    target: str,
) -> None:
    """A read in a non-public view goes into the audit log (who, which subject, why, when)
    before the data are sent: in a short transaction of its own, since the reading one must not
    start writing (see ``audit.service.append_now``)."""
    if view == "public":
        return
    from xinyong.audit.service import append_now

    append_now(actor=principal.actor, role=principal.role, action=action,
               subject_id=subject_id, purpose=purpose, target=target)
