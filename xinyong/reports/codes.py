"""Credit codes (信用码): a QR code per subject, like Huizhou's 惠信码, that incentive
providers scan to see the subject's colour (绿码/蓝码/红码) and its public summary.

The code encodes the address of the scan page, ``/code/<token>``. The token is compact and
signed: ``base64url(payload) "." base64url(HMAC-SHA256(sub-key, base64url(payload)))``, the
payload a small JSON object (version, key id, serial, subject, issued, expires, colour at
issue, purpose). The MAC covers the payload's *encoded* text and the signature is compared as
text, so any change of any character is refused (base64 decoders forgive some changes in the
last character; the comparison does not).

Why HMAC and not Ed25519: only the platform verifies a code. The scan shows the subject's
*current* colour and whether the code was replaced, which no offline check could know, so a
public key would buy nothing but a longer token (64 bytes of signature, a denser QR code). The
sub-key is derived from the platform's ``secret_key`` and a key id carried in the token; the
setting ``credit_code_keys`` lists the ids still accepted (the first signs new codes), so codes
signed with an id can be refused by dropping it, without touching the platform's secret.

Whose colour: the model named by the setting ``credit_code_model`` (default ``huixin_code``),
read through ``evaluation.service.subject_results`` in the public view, at issue and again at
every scan (the colour shown is the current one; the page says when it changed since issue).

Natural persons get no code. Their records and every result computed from them are never
public here (``subject_results`` hides them from outsiders); a code is made to be shown to
outsiders, so a person's code would publish what the platform otherwise never does, and the
platform has no record of the person's consent to that (个人信息保护法 第十三条).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import segno
import yaml
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.errors import DomainError
from xinyong.reports.codes_models import CreditCode, CreditCodeScan
from xinyong.subjects.models import Subject

RULES_FILE = Path(__file__).parent / "data" / "credit_codes.yaml"
TOKEN_VERSION = 1
MAX_TOKEN = 400  # a real token is ~200 characters; anything far longer is not one
SIG_LEN = 43  # base64url of 32 bytes, unpadded
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
B64 = re.compile(r"[A-Za-z0-9_-]+")
INACTIVE_STATUSES = {"deregistered": "已注销", "revoked": "已吊销", "moved_out": "已迁出"}


class CodeError(DomainError):
    """A code refused: a stable code and a Chinese message saying why."""


# ------------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class Purpose:
    code: str
    label: str
    validity: dt.timedelta
    supersedes: bool


@lru_cache(maxsize=1)
def purposes() -> dict[str, Purpose]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {
        code: Purpose(code, p["label"], dt.timedelta(hours=int(p["hours"])), bool(p["supersedes"]))
        for code, p in data["purposes"].items()
    }


def model_name() -> str:
    return get_settings().credit_code_model


def key_ids() -> list[str]:
    ids = [k.strip() for k in get_settings().credit_code_keys.split(",") if k.strip()]
    bad = [k for k in ids if not KEY_ID.fullmatch(k)]
    if not ids or bad:
        raise RuntimeError(
            "XINYONG_CREDIT_CODE_KEYS must list key ids (letters, digits, - or _, ≤16 characters)"
        )
    return ids


def _sub_key(kid: str) -> bytes:
    # A key of its own for codes: a token never doubles as any other HMAC the secret makes
    # (CSRF tokens, ID-number hashes), and a key id can be retired alone.
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"xinyong/credit-code/" + kid.encode(), hashlib.sha256).digest()


# ------------------------------------------------------------------------------------ tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(kid: str, body: str) -> str:
    return _b64(hmac.new(_sub_key(kid), body.encode("ascii"), hashlib.sha256).digest())


def encode_token(payload: dict[str, Any]) -> str:
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_sign(payload['k'], body)}"


def _invalid(reason: str) -> CodeError:
    return CodeError("CODE_INVALID", f"无法识别的信用码：{reason}。请重新扫码，或让对方出示最新信用码。")


def decode_token(token: str) -> dict[str, Any]:
    """The payload of a token whose signature holds, or a ``CodeError`` saying why not."""
    if not token or len(token) > MAX_TOKEN:
        raise _invalid("内容为空或长度不对")
    parts = token.split(".")
    if len(parts) != 2 or not all(B64.fullmatch(p) for p in parts) or len(parts[1]) != SIG_LEN:
        raise _invalid("格式不正确（可能不完整或被截断）")
    body, sig = parts
    try:
        payload = orjson.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise _invalid("内容无法解码") from None
    fields = {"v": int, "k": str, "n": int, "s": int, "i": int, "e": int, "p": str}
    if not isinstance(payload, dict) or any(
        not isinstance(payload.get(f), t) or isinstance(payload.get(f), bool)
        for f, t in fields.items()
    ):
        raise _invalid("内容不完整")
    # Integers a database column and a date can hold (a signed token always fits; this
    # keeps a malformed one from reaching the database or the calendar).
    if not all(0 < payload[f] < 2**31 for f in ("n", "s")) or not all(
        0 < payload[f] < 2**35 for f in ("i", "e")
    ):
        raise _invalid("内容超出范围")
    if payload["v"] != TOKEN_VERSION:
        raise _invalid(f"版本 {payload['v']} 不受支持")
    kid = payload["k"]
    if not KEY_ID.fullmatch(kid) or kid not in key_ids():
        raise CodeError(
            "CODE_KEY_RETIRED",
            f"该信用码的签名密钥（{kid[:16]}）已停用或不是本平台的密钥，信用码不再有效："
            "请让对方刷新后出示新的信用码。",
            status=410,
        )
    if not hmac.compare_digest(_sign(kid, body), sig):
        raise CodeError(
            "CODE_FORGED",
            "信用码签名校验未通过：该码不是本平台签发的，或内容已被改动，请勿采信。",
        )
    return payload  # type: ignore[no-any-return]


_TOKEN_IN_TEXT = re.compile(r"(?:/code/)?([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/?\s*$")


def token_from_text(text: str) -> str:
    """The token in what a scanner or a person pasted: the token itself or the whole address."""
    text = text.replace("\x00", "").strip()
    m = _TOKEN_IN_TEXT.search(text.split("?")[0].split("#")[0])
    return m.group(1) if m else text


# ------------------------------------------------------------------------------------ times


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite gives back the stored wall time without its zone (it was written in CST).
    if value.tzinfo is None:
        return value.replace(tzinfo=clock.CST)
    return value.astimezone(clock.CST)


def _from_epoch(n: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(n, clock.CST)


def _shown(moment: dt.datetime) -> str:
    return moment.astimezone(clock.CST).strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------------ subject


def _subject(session: Session, subject_id: int) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise CodeError("CODE_SUBJECT_NOT_FOUND", "信用码对应的信用主体不存在。", status=404)
    return subject


def find_subject_by_code(session: Session, code: str) -> Subject:
    key = code.replace("\x00", "").strip().upper()
    subject = session.scalar(select(Subject).where(Subject.uscc == key)) if key else None
    if subject is None:
        raise CodeError(
            "SUBJECT_NOT_FOUND",
            f"没有统一社会信用代码为「{code[:40]}」的信用主体：请核对 code 字段。",
            status=404,
        )
    return subject


def _check_issuable(subject: Subject) -> None:
    if subject.kind == "natural_person":
        raise CodeError(
            "CODE_NATURAL_PERSON",
            "自然人不签发信用码：自然人的信用信息和评价结果不对外公开，信用码供他人扫码查看，"
            "签发即等于公开。",
            status=403,
        )
    if subject.status in INACTIVE_STATUSES:
        raise CodeError(
            "CODE_SUBJECT_INACTIVE",
            f"该主体{INACTIVE_STATUSES[subject.status]}，不能签发信用码。",
            status=409,
        )


def current_colour(session: Session, subject_id: int) -> dict[str, Any] | None:
    """The subject's current public result under the code's model, or None (no result: the
    subject is outside the model's scope, not evaluated yet, or the model is not active)."""
    from xinyong.evaluation.service import subject_results

    name = model_name()
    for r in subject_results(session.connection(), subject_id, government=False):
        if r["model"] == name:
            return r
    return None


# ------------------------------------------------------------------------------------ issue


def scan_url(token: str, base_url: str | None = None) -> str:
    settings = get_settings()
    base = settings.credit_code_base_url or base_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/code/{token}"


def issue_code(
    session: Session,
    subject_id: int,
    *,
    actor: str,
    purpose: str = "dynamic",
    base_url: str | None = None,
) -> dict[str, Any]:
    """Issue a code for the subject: one row, one audit entry, the signed token. A new
    dynamic code replaces the subject's earlier dynamic codes (they stop verifying)."""
    rule = purposes().get(purpose)
    if rule is None:
        raise CodeError(
            "CODE_PURPOSE_INVALID",
            f"purpose 字段无效：应为 {'、'.join(purposes())} 之一。",
        )
    subject = _subject(session, subject_id)
    _check_issuable(subject)
    result = current_colour(session, subject.id)
    colour = result["colour"] if result else None
    now = clock.now().replace(microsecond=0)
    expires = now + rule.validity
    kid = key_ids()[0]
    conn = session.connection()
    if rule.supersedes:
        conn.execute(
            update(CreditCode)
            .where(
                CreditCode.subject_id == subject.id,
                CreditCode.purpose == purpose,
                CreditCode.status == "active",
            )
            .values(status="superseded", superseded_at=now)
        )
    serial = int(
        conn.execute(
            insert(CreditCode).values(
                subject_id=subject.id, purpose=purpose, key_id=kid, model_name=model_name(),
                colour=colour, issued_at=now, expires_at=expires, issued_by=actor[:200],
                status="active",
            )
        ).inserted_primary_key[0]
    )
    payload = {
        "v": TOKEN_VERSION, "k": kid, "n": serial, "s": subject.id,
        "i": int(now.timestamp()), "e": int(expires.timestamp()), "c": colour, "p": purpose,
    }  # fmt: skip
    token = encode_token(payload)
    from xinyong.audit.service import append

    append(
        conn, actor=actor, action="credit_code.issue", subject_id=subject.id,
        target=f"credit_code:{serial}",
        detail={"purpose": purpose, "key_id": kid, "colour": colour,
                "expires_at": expires.isoformat()},
    )  # fmt: skip
    return _issued(subject, serial, token, purpose, now, expires, result, base_url)


def _issued(
    subject: Subject,
    serial: int,
    token: str,
    purpose: str,
    issued: dt.datetime,
    expires: dt.datetime,
    result: dict[str, Any] | None,
    base_url: str | None,
) -> dict[str, Any]:
    return {
        "serial": serial,
        "token": token,
        "url": scan_url(token, base_url),
        "purpose": purpose,
        "purpose_label": purposes()[purpose].label,
        "issued_at": issued.isoformat(),
        "expires_at": expires.isoformat(),
        "issued_at_text": _shown(issued),
        "expires_at_text": _shown(expires),
        "subject": {"id": subject.id, "name": subject.name, "uscc": subject.uscc},
        "colour": _colour(result),
        "no_result": result is None,
        "no_result_text": "暂无评价结果" if result is None else None,
    }


def _colour(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "code": result["colour"],
        "name": result["colour_name"],
        "model": result["model"],
        "model_title": result.get("title"),
        "version": result["version"],
        "evaluated_on": result.get("evaluated_on"),
    }


def current_code(
    session: Session, subject_id: int, *, base_url: str | None = None
) -> dict[str, Any] | None:
    """The subject's latest dynamic code if it is still valid (a page shown twice shows the
    same code; only the refresh button replaces it)."""
    row = session.execute(
        select(CreditCode)
        .where(
            CreditCode.subject_id == subject_id,
            CreditCode.purpose == "dynamic",
            CreditCode.status == "active",
        )
        .order_by(CreditCode.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    issued, expires = _aware(row.issued_at), _aware(row.expires_at)
    # A code signed with a key id no longer listed would not verify: issue a new one instead.
    if expires <= clock.now() or row.key_id not in key_ids():
        return None
    payload = {
        "v": TOKEN_VERSION, "k": row.key_id, "n": row.id, "s": row.subject_id,
        "i": int(issued.timestamp()), "e": int(expires.timestamp()), "c": row.colour,
        "p": row.purpose,
    }  # fmt: skip
    subject = _subject(session, subject_id)
    return _issued(
        subject, row.id, encode_token(payload), row.purpose, issued, expires,
        current_colour(session, subject_id), base_url,
    )  # fmt: skip


def ensure_code(
    session: Session, subject_id: int, *, actor: str, base_url: str | None = None
) -> dict[str, Any]:
    return current_code(session, subject_id, base_url=base_url) or issue_code(
        session, subject_id, actor=actor, base_url=base_url
    )


# ------------------------------------------------------------------------------------ verify


def verify(
    session: Session,
    token: str,
    *,
    account_id: int | None = None,
    role: str = "public",
    channel: str = "page",
    base_url: str | None = None,
) -> dict[str, Any]:
    """What a provider sees on scanning: the subject, its CURRENT colour (and the colour at
    issue when it differs), the code's validity and the public summary. A code that is not
    valid raises ``CodeError`` with a stable code (400 malformed or forged, 410 no longer
    valid, 404 unknown). A valid scan is counted (by account, for providers' statistics)."""
    payload = decode_token(token.strip())
    issued, expires = _from_epoch(payload["i"]), _from_epoch(payload["e"])
    now = clock.now()
    if now >= expires:
        raise CodeError(
            "CODE_EXPIRED",
            f"该信用码已于 {_shown(expires)} 过期：请让对方刷新后出示新的信用码。",
            status=410,
        )
    row = session.get(CreditCode, payload["n"])
    if row is None or row.subject_id != payload["s"] or row.key_id != payload["k"]:
        raise CodeError("CODE_UNKNOWN", "本平台没有签发过这个信用码，请勿采信。", status=404)
    if row.status == "superseded":
        raise CodeError(
            "CODE_SUPERSEDED",
            "该信用码已被主体刷新作废（可能是截图或旧码）：请让对方出示当前的信用码。",
            status=410,
        )
    subject = _subject(session, row.subject_id)
    if subject.status in INACTIVE_STATUSES:
        raise CodeError(
            "CODE_SUBJECT_INACTIVE",
            f"该信用码对应的主体「{subject.name}」{INACTIVE_STATUSES[subject.status]}，"
            "信用码已失效。",
            status=410,
        )
    if subject.kind == "natural_person":  # never issued; refused should one exist
        raise CodeError("CODE_NATURAL_PERSON", "自然人的信用码不对外展示。", status=403)
    result = current_colour(session, subject.id)
    at_issue = payload.get("c")
    colour = _colour(result)
    now_code = colour["code"] if colour else None
    session.execute(
        insert(CreditCodeScan).values(
            code_id=row.id, subject_id=subject.id, scanned_at=now, account_id=account_id,
            role=role[:32], channel=channel[:8],
        )
    )  # fmt: skip
    return {
        "valid": True,
        "code": "CODE_VALID",
        "serial": row.id,
        "purpose": row.purpose,
        "purpose_label": purposes().get(row.purpose, purposes()["dynamic"]).label,
        "issued_at": issued.isoformat(),
        "expires_at": expires.isoformat(),
        "issued_at_text": _shown(issued),
        "expires_at_text": _shown(expires),
        "subject": {
            "name": subject.name,
            "uscc": subject.uscc,
            "status": subject.status,
            "kind": subject.kind,
        },
        "colour": colour,
        "no_result_text": "暂无评价结果" if colour is None else None,
        "colour_at_issue": at_issue,
        "colour_at_issue_name": _colour_label(session, at_issue),
        "colour_changed": at_issue != now_code,
        "summary": public_summary(session, subject),
        "profile_url": f"/subjects/{subject.uscc or subject.id}",
        "url": scan_url(token.strip(), base_url),
        "checked_at": now.isoformat(),
    }


def _colour_label(session: Session, code: str | None) -> str | None:
    if code is None:
        return None
    from xinyong.evaluation.service import model_row

    row = model_row(session.connection(), model_name())
    if row is None:
        return code
    return _colour_names(row.sha256, row.text).get(code, code)


@lru_cache(maxsize=16)
def _colour_names(sha256: str, text: str) -> dict[str, str]:
    # Keyed by the stored version's digest: an activated version never changes.
    from xinyong.evaluation.spec import parse_model_text

    model = parse_model_text(text)
    return {c.code: c.name for c in model.colours}


def public_summary(session: Session, subject: Subject) -> dict[str, Any]:
    """Counts of the subject's PUBLIC records (what anyone sees on its profile) by polarity,
    and the published lists it is on."""
    from xinyong.records.lists import LIST_TYPES
    from xinyong.records.profile import build_profile

    profile = build_profile(session, subject, "public")
    negative = positive = 0
    lists: dict[str, dict[str, Any]] = {}
    for cat in profile["categories"]:
        for r in cat["records"]:
            if r["polarity"] == "negative":
                negative += 1
            elif r["polarity"] == "positive":
                positive += 1
            if r["record_type"] in LIST_TYPES:
                entry = lists.setdefault(
                    r["record_type"], {"code": r["record_type"], "label": r["record_type_label"],
                                       "count": 0})  # fmt: skip
                entry["count"] += 1
    return {
        "negative": negative,
        "positive": positive,
        "total": profile["total"],
        "serious_dishonesty": "serious_dishonesty_list" in lists,
        "lists": [lists[c] for c in LIST_TYPES if c in lists],
        "as_of": profile["as_of"],
    }


def scan_stats(session: Session, subject_id: int) -> dict[str, int]:
    """How often the subject's codes were verified, and by how many distinct accounts."""
    total, accounts = session.execute(
        select(func.count(), func.count(func.distinct(CreditCodeScan.account_id))).where(
            CreditCodeScan.subject_id == subject_id
        )
    ).one()
    return {"scans": int(total or 0), "accounts": int(accounts or 0)}


# ------------------------------------------------------------------------------------ QR


def qr(url: str) -> segno.QRCode:
    # Level M: survives a creased print or a cracked phone screen; segno raises it when the
    # version has room to spare.
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, *, scale: int = 5, title: str = "信用码") -> str:
    return str(qr(url).svg_inline(scale=scale, border=4, title=title, svgclass="credit-code-qr"))


def qr_png(url: str, *, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    qr(url).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ demo


def seed_demo(session: Session, limit: int = 3) -> list[dict[str, Any]]:
    """Issue a dynamic code for a few enterprises of the demo (for ``xinyong demo``)."""
    ids = session.scalars(
        select(Subject.id)
        .where(Subject.kind != "natural_person", Subject.status == "active",
               Subject.uscc.is_not(None))
        .order_by(Subject.id)
        .limit(limit)
    ).all()  # fmt: skip
    return [ensure_code(session, sid, actor="demo") for sid in ids]
