"""The seeded world of the access tests: departments A and B (and a spare one), subjects with
sentinel records, every evaluation model run, and one logged-in client or credential per role.

Built once per database engine for the whole ``tests/access`` package (accounts cost an argon2
hash each): every case of the matrix and of the leak scans reads it, and the few state-changing
calls aim at spare objects (a spare account, token, department, pending match, record), so the
order the cases run in does not matter.

Sentinels are texts that appear in exactly one record or result, so that finding one in a
response proves that response showed it:

- ``restricted``: records of a ``disclosure: restricted`` type (judicial ruling, utility arrears)
  of subject S1 (its own account sees them; nobody else outside government does);
- ``internal``: a record of S1 stored with ``disclosure = 'internal'`` (no shipped catalog type
  is internal; the database allows it and every view must honour it);
- ``expired``: a penalty of S1 whose publicity period ended before today;
- ``not_published``: a penalty decided by the simple procedure (SAMR order No. 45: never
  published);
- ``repaired`` / ``revoked``: a penalty and a serious-dishonesty list entry of S1 whose status
  was changed;
- ``superseded``: the first version of a penalty the department corrected;
- ``natural_person``: a natural person's masked ID number, its penalty, its entry in the
  courts' list of dishonest judgment debtors, the mobile number in that penalty's text;
- ``free_text_pii``: an ID number and a mobile number written into the free text of a public
  penalty and of a public list entry of a legal person (departments do that);
- ``id_never_stored``: the natural person's ID number, a legal representative's (a structured
  field) and a malformed one in a rejected row: only hashes and masked forms are kept;
- ``samr_risk``: the grades, tags and colours only the government-only SAMR risk
  classification gives.

A public penalty and a public list entry of S1 (``CONTROL_*``) are the controls everyone sees.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from stdnum.cn import ric

from tests.auth import create_user, csrf, login
from tests.evaluation import builders as b
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Account
from xinyong.accounts.principal import CLI
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.departments.service import add_department, issue_api_key
from xinyong.evaluation import service as evaluation
from xinyong.records.ingest import BatchResult, ingest_records
from xinyong.records.models import CreditRecord
from xinyong.records.service import change_record_status
from xinyong.subjects.idnumbers import hash_id_number, mask_id_number, mask_phone
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects
from xinyong.supervision import service as supervision

TODAY = b.AS_OF  # 2026-11-22
OPERATOR_TOKEN = "access-matrix-operator-token"
HTML = {"accept": "text/html,application/xhtml+xml"}
JSON = {"accept": "application/json"}

# Department A (its officer, its system), department B (another department's key), and a
# spare one whose key the administrator's routes issue and revoke.
DEPT_A, DEPT_B, DEPT_SPARE = "market", "tax", "court"

# --------------------------------------------------------------------------------- roles

PUBLIC = "public"
ADMIN = "admin"  # an administrator's session
OPERATOR = "operator"  # the operator token (Authorization: Bearer)
OFFICER = "officer"  # department A's officer (session)
SYSTEM = "system"  # department A's key (X-API-Key)
SYSTEM_B = "system_b"  # department B's key
SUBJECT = "subject"  # the account of subject S1 (session)
SUBJECT_B = "subject_b"  # the account of subject S2 (session)
BANK = "bank"
PROVIDER = "provider"
NARROW = "narrow"  # a department_system account's token with only ``public:read``

ROLES: tuple[str, ...] = (
    PUBLIC, ADMIN, OPERATOR, OFFICER, SYSTEM, SYSTEM_B, SUBJECT, SUBJECT_B, BANK, PROVIDER, NARROW,
)
SESSION_ROLES = {ADMIN: "acc-admin", OFFICER: "acc-officer", SUBJECT: "acc-subject1",
                 SUBJECT_B: "acc-subject2", BANK: "acc-bank", PROVIDER: "acc-provider"}

# ---------------------------------------------------------------------------- sentinels



def _id_number(first17: str) -> str:
    """An ID number with a valid check character (GB 11643; stdnum ignores the last one)."""
    return first17 + ric.calc_check_digit(first17 + "0")


# The natural person's ID number and its masked form; the legal representative's number of a
# legal person's penalty (a structured field); one with a wrong check character (rejected).
ID_NUMBER = _id_number("44010619900101123")
ID_MASKED = mask_id_number(ID_NUMBER)
REP_ID = _id_number("44010319850505432")
BAD_ID = "440104197703036541"  # wrong check character: still personal data
assert ric.calc_check_digit(BAD_ID) != BAD_ID[-1]
PERSON_PHONE = "13912345678"
# Personal data a department wrote into the free text of a public penalty.
FREE_ID = _id_number("44010519920202567")
FREE_PHONE = "13787654321"
PERSON_NAME = "哨兵自然人张三丰"

S1, S2, S_SPARE, S_PII = 1, 2, 3, 4  # builders.code(n) numbers of the legal persons

CONTROL_DOC = "穗市监罚〔2026〕哨兵公开1号"  # public, current, in publicity: everyone sees it
RESTRICTED_CASE = "（2026）粤0106民初哨兵7301号"
RESTRICTED_CAUSE = "限制公开哨兵案由"
RESTRICTED_ACCOUNT = "UTIL-SENTINEL-0042"
INTERNAL_DOC = "穗市监罚〔2026〕哨兵内部2号"
EXPIRED_DOC = "穗市监罚〔2020〕哨兵过期3号"
NOT_PUBLISHED_DOC = "穗市监罚〔2026〕哨兵简易4号"
REPAIRED_DOC = "穗市监罚〔2026〕哨兵修复5号"
REVOKED_DOC = "穗市监罚〔2026〕哨兵撤销6号"
SUPERSEDED_DOC = "穗市监罚〔2026〕哨兵更正7号"
SUPERSEDED_FACTS = "哨兵更正前的事实原文"
PERSON_DOC = "穗市监罚〔2026〕哨兵个人8号"
PII_DOC = "穗市监罚〔2026〕哨兵个人信息9号"
SPARE_DOC = "穗市监罚〔2026〕备用10号"
PENDING_NAME = "哨兵无此企业有限公司"
CONTROL_LIST_DOC = "穗市监严〔2026〕哨兵公开名单12号"
REVOKED_LIST_DOC = "穗市监严〔2026〕哨兵撤销名单13号"
REVOKED_LIST_REASON = "哨兵撤销名单的列入原因"
CONTROL_LIST_REASON = "哨兵公开名单的列入原因"
PERSON_LIST_CASE = "（2026）粤0106执哨兵14号"

SENTINELS: dict[str, tuple[str, ...]] = {
    "restricted": (RESTRICTED_CASE, RESTRICTED_CAUSE, RESTRICTED_ACCOUNT),
    "internal": (INTERNAL_DOC,),
    "expired": (EXPIRED_DOC,),
    "not_published": (NOT_PUBLISHED_DOC,),
    "repaired": (REPAIRED_DOC,),
    "revoked": (REVOKED_DOC, REVOKED_LIST_REASON),
    "superseded": (SUPERSEDED_FACTS,),
    "natural_person": (ID_MASKED, PERSON_DOC, PERSON_LIST_CASE, PERSON_PHONE,
                       mask_phone(PERSON_PHONE)),
    "free_text_pii": (FREE_ID, FREE_PHONE),
    # numbers never stored in clear, which no response may hold, whoever asks
    "id_never_stored": (ID_NUMBER, REP_ID, BAD_ID),
    # the grades and tags samr_risk gives (its colours 绿/黄/橙/红 are too short to search for;
    # its title may be named, e.g. in the message refusing it)
    "samr_risk": ("信用风险低", "信用风险一般", "信用风险较高", "信用风险高",
                  "提高抽查比例和频次", "降低抽查比例和频次", '"model":"samr_risk"',
                  *(f'"colour_name":"{c}"' for c in "绿黄橙红")),
}


_penalty = b.penalty_row


def _push(engine: Engine, record_type: str, rows: list[dict[str, Any]],
          department: str = DEPT_A, *, pending: int = 0, rejected: int = 0) -> BatchResult:
    result = ingest_records(engine, rows, record_type=record_type, department=department,
                            actor="test")
    assert result.rejected == rejected and result.pending == pending, (
        result.summary(), result.errors.to_dicts())
    return result


def _record_id(doc_or_title: str) -> int:
    with session_scope() as session:
        rid = session.scalar(select(CreditRecord.id).where(
            CreditRecord.title == doc_or_title, CreditRecord.is_current.is_(True)))
        assert rid is not None, doc_or_title
        return int(rid)


# ---------------------------------------------------------------------------------- world


@dataclass
class World:
    engine: Engine
    kind: str  # sqlite | postgresql
    app: FastAPI
    ids: dict[str, Any]  # seeded ids and codes, by name
    clients: dict[str, TestClient]  # the cookie-carrying client of each session role
    headers: dict[str, dict[str, str]]  # the credential headers of each token role
    csrf: dict[str, str]  # the CSRF token of each client (session roles and the public)
    bare: TestClient  # a client without cookies, for token roles
    _fresh: itertools.count = field(default_factory=lambda: itertools.count(1))
    cache: dict[str, Any] = field(default_factory=dict)

    def client(self, role: str) -> TestClient:
        return self.clients.get(role, self.bare)

    def fresh_session(self, role: str) -> tuple[TestClient, str]:
        """A new login of ``role``'s account (for calls that end the session, e.g. logout)."""
        c = TestClient(self.app, raise_server_exceptions=False)
        login(c, SESSION_ROLES[role])
        return c, csrf(c.get("/login", headers=HTML).text)

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._fresh)}"

    def close(self) -> None:
        for c in (*self.clients.values(), self.bare):
            c.close()


def _natural_person(engine: Engine) -> int:
    secret = get_settings().secret_key
    frame = pl.DataFrame({
        "uscc": [None], "uscc_status": ["none"], "kind": ["natural_person"],
        "name": [PERSON_NAME], "name_norm": [normalize_name(PERSON_NAME)],
        "address": ["广州市天河区哨兵路1号"],
        "id_number_hash": [hash_id_number(ID_NUMBER, secret)],
        "id_number_masked": [ID_MASKED],
    }, schema_overrides={"uscc": pl.String})
    with engine.begin() as conn:
        out = insert_subjects(conn, frame)
    return int(out["subject_id"][0])


def seed(engine: Engine) -> dict[str, Any]:
    """Departments, subjects, sentinel records, evaluations, a library, accounts and tokens."""
    ids: dict[str, Any] = {}
    with session_scope() as session:
        for code, name in ((DEPT_A, "市场监督管理局"), (DEPT_B, "税务局"),
                           (DEPT_SPARE, "中级人民法院"), ("credit_office", "发展和改革局")):
            add_department(session, code, name)
        ids["key_a"] = issue_api_key(session, DEPT_A)
        ids["key_b"] = issue_api_key(session, DEPT_B)

    subjects = {n: b.subject(engine, n) for n in (S1, S2, S_SPARE, S_PII)}
    ids.update(s1=subjects[S1], s2=subjects[S2], spare_subject=subjects[S_SPARE],
               pii_subject=subjects[S_PII])
    ids["person"] = _natural_person(engine)
    for key, n in (("s1_code", S1), ("s2_code", S2), ("spare_code", S_SPARE), ("pii_code", S_PII)):
        ids[key] = b.code(n)
    ids["person_code"] = str(ids["person"])

    # S1: one public record everyone sees, and one of each kind nobody outside may see.
    batch = _push(engine, "administrative_penalty", [
        _penalty(S1, CONTROL_DOC, "2026-06-01"),
        _penalty(S1, INTERNAL_DOC, "2026-06-02"),
        _penalty(S1, EXPIRED_DOC, "2020-03-02", penalty_kinds="警告、罚款"),
        _penalty(S1, NOT_PUBLISHED_DOC, "2026-06-03", procedure="simple"),
        _penalty(S1, REPAIRED_DOC, "2026-06-04"),
        _penalty(S1, REVOKED_DOC, "2026-06-05"),
        _penalty(S1, SUPERSEDED_DOC, "2026-06-06", facts=SUPERSEDED_FACTS),
        _penalty(S_SPARE, SPARE_DOC, "2026-06-07"),
        _penalty(S_PII, PII_DOC, "2026-06-08",
                 facts=f"经查，当事人发布虚假宣传内容。经办人联系电话{FREE_PHONE}，身份证号{FREE_ID}。",
                 legal_representative="李四", legal_representative_id_number=REP_ID),
        # rejected (a wrong check character): the batch's error report must not repeat it
        _penalty(S_SPARE, "穗市监罚〔2026〕错误行", "2026-06-07", subject_kind="自然人",
                 id_number=BAD_ID),
    ], rejected=1)
    ids["batch_a"] = batch.batch_id
    _push(engine, "administrative_penalty", [
        _penalty(S1, SUPERSEDED_DOC, "2026-06-06", facts="经查，当事人发布虚假宣传内容（已更正）。"),
    ])
    _push(engine, "judicial_ruling", [{
        "subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
        "case_number": RESTRICTED_CASE, "court": "广州市天河区人民法院", "case_type": "civil",
        "cause": RESTRICTED_CAUSE, "judgment": "驳回诉讼请求", "ruled_on": "2026-05-20",
    }], department=DEPT_SPARE)
    _push(engine, "utility_arrears", [{
        "subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
        "account_number": RESTRICTED_ACCOUNT, "utility_kind": "water", "amount": "1200",
        "since": "2026-03-01",
    }], department=DEPT_B)
    # The natural person's penalty, matched by the ID number's keyed hash.
    _push(engine, "administrative_penalty", [{
        "subject_name": PERSON_NAME, "subject_kind": "自然人", "id_number": ID_NUMBER,
        "doc_number": PERSON_DOC, "violation_type": "无照经营",
        "facts": f"当事人{PERSON_NAME}（联系电话{PERSON_PHONE}）无照经营。", "penalty_kinds": "罚款",
        "content": "罚款2000元", "fine_amount": "2000", "penalty_class": "general",
        "procedure": "ordinary", "decided_on": "2026-06-09", "authority": "广州市市场监督管理局",
    }])
    # Published lists: one entry everyone sees, one revoked, one naming a natural person.
    _push(engine, "serious_dishonesty_list", [
        {"subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
         "list_name": "市场监督管理严重违法失信名单", "reason": CONTROL_LIST_REASON,
         "listed_on": "2026-02-01", "authority": "广州市市场监督管理局",
         "listing_doc_number": CONTROL_LIST_DOC},
        {"subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
         "list_name": "市场监督管理严重违法失信名单", "reason": REVOKED_LIST_REASON,
         "listed_on": "2026-02-02", "authority": "广州市市场监督管理局",
         "listing_doc_number": REVOKED_LIST_DOC},
        {"subject_name": f"广州测试{S_PII}号有限公司", "uscc": b.code(S_PII),
         "list_name": "市场监督管理严重违法失信名单",
         "reason": f"提供虚假材料骗取登记（经办人电话{FREE_PHONE}，身份证号{FREE_ID}）",
         "listed_on": "2026-02-03", "authority": "广州市市场监督管理局",
         "listing_doc_number": "穗市监严〔2026〕哨兵个人信息15号"},
    ])
    _push(engine, "dishonest_judgment_debtor", [{
        "subject_name": PERSON_NAME, "subject_kind": "自然人", "id_number": ID_NUMBER,
        "case_number": PERSON_LIST_CASE, "court": "广州市天河区人民法院",
        "listed_on": "2026-03-01",
    }], department=DEPT_SPARE)
    # A record no subject matches: the spare entry of the pending queue.
    _push(engine, "administrative_penalty", [
        {**_penalty(S_SPARE, "穗市监罚〔2026〕待匹配11号", "2026-06-10"),
         "subject_name": PENDING_NAME, "uscc": None},
    ], pending=1)

    with session_scope() as session:
        change_record_status(session, record_id=_record_id(REPAIRED_DOC), status="repaired",
                             actor="test", reason="信用修复")
        change_record_status(session, record_id=_record_id(REVOKED_DOC), status="revoked",
                             actor="test", reason="决定撤销")
        revoked_list = session.scalar(select(CreditRecord.id).where(
            CreditRecord.source_record_id == REVOKED_LIST_DOC))
        change_record_status(session, record_id=revoked_list, status="revoked", actor="test",
                             reason="移出名单")
        session.execute(update(CreditRecord).where(CreditRecord.title == INTERNAL_DOC)
                        .values(disclosure="internal"))
        rows = {r.title: r for r in session.scalars(select(CreditRecord))}
        # the sentinels are what they claim to be
        assert rows[EXPIRED_DOC].publicity_until is not None
        assert rows[EXPIRED_DOC].publicity_until < TODAY, rows[EXPIRED_DOC].publicity_until
        assert "not_published" in (rows[NOT_PUBLISHED_DOC].publicity_rule or "")
        assert rows[RESTRICTED_CASE].disclosure == "restricted"
        assert rows[CONTROL_DOC].publicity_until is None or (
            rows[CONTROL_DOC].publicity_until >= TODAY)
        from xinyong.records.models import PendingMatch

        ids["pending"] = session.scalar(select(PendingMatch.id))
    ids["spare_record"] = _record_id(SPARE_DOC)

    # Models registered after the records: each ingest would otherwise evaluate its subjects
    # incrementally under every active model.
    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    for name in ("gz_general", "samr_risk", "huixin_code", "food_safety"):
        evaluation.evaluate(engine, name, as_of=TODAY)
    with engine.begin() as conn:
        samr = conn.execute(text(
            "SELECT COUNT(*) FROM evaluation_result WHERE model_name = 'samr_risk'"
            " AND subject_id = :s"), {"s": ids["s1"]}).scalar_one()
        assert samr == 1
        ids["library"] = supervision.create_library(
            conn, department=DEPT_A, name="哨兵监管库", codes=[b.code(S1)], actor="test")["id"]

    # Accounts: one per session role, a narrow-scoped system account, spare ones.
    create_user(SESSION_ROLES[ADMIN], "admin")
    create_user(SESSION_ROLES[OFFICER], "department_officer", department=DEPT_A)
    create_user(SESSION_ROLES[SUBJECT], "subject", subject=b.code(S1))
    create_user(SESSION_ROLES[SUBJECT_B], "subject", subject=b.code(S2))
    create_user(SESSION_ROLES[BANK], "bank")
    create_user(SESSION_ROLES[PROVIDER], "provider")
    create_user("acc-narrow", "department_system", department=DEPT_A)
    ids["spare_account"] = create_user("acc-spare", "bank")
    ids["pending_account"] = create_user("acc-pending", "provider", status="pending")
    with session_scope() as session:
        narrow_id = session.scalar(select(Account.id).where(Account.username == "acc-narrow"))
        _, ids["narrow_token"] = accounts.issue_token(
            session, narrow_id, name="只读", scopes=["public:read"], by=CLI)
        spare, _ = accounts.issue_token(session, ids["spare_account"], name="备用",
                                        scopes=["public:read"], by=CLI)
        ids["spare_token"] = spare.id
    from tests.access import domains

    for module in domains.modules():
        if hasattr(module, "seed"):
            module.seed(engine, ids)
    return ids


def build(engine: Engine, kind: str) -> World:
    clock.set_today(TODAY)
    ids = seed(engine)
    from xinyong.app import create_app

    app = create_app()
    clients: dict[str, TestClient] = {}
    tokens: dict[str, str] = {}
    public = TestClient(app, raise_server_exceptions=False)
    clients[PUBLIC] = public
    tokens[PUBLIC] = csrf(public.get("/login", headers=HTML).text)
    for role, username in SESSION_ROLES.items():
        c = TestClient(app, raise_server_exceptions=False)
        login(c, username)
        clients[role] = c
        tokens[role] = csrf(c.get("/login", headers=HTML).text)
    headers = {
        OPERATOR: {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        SYSTEM: {"X-API-Key": ids["key_a"]},
        SYSTEM_B: {"X-API-Key": ids["key_b"]},
        NARROW: {"Authorization": f"Bearer {ids['narrow_token']}"},
    }
    bare = TestClient(app, raise_server_exceptions=False)
    return World(engine=engine, kind=kind, app=app, ids=ids, clients=clients, headers=headers,
                 csrf=tokens, bare=bare)
