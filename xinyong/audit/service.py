"""The audit log (审计日志): append, verify, search and export.

Every read of restricted data and every state change is one entry, written by ``append`` in the
caller's own transaction: the entry exists if and only if what it records was committed.

The chain. Entry ``n`` stores ``prev_hash`` (the hash of entry ``n - 1``; 64 zeros for the
first) and ``hash`` = SHA-256 of the UTF-8 bytes of ``prev_hash`` followed by the canonical JSON
(keys sorted, no spaces, non-ASCII kept) of the object ``{seq, at, actor, role, action,
subject_id, purpose, target, detail}``, where ``detail`` is the stored JSON text itself (a string)
and absent values are ``null``. Anyone can re-check a copy of the log with that sentence and a
SHA-256 tool; ``verify`` is that check. ``audit_head`` (one row) names the last entry and its
hash, so that removing entries from the end is detected too.

What it proves: an entry changed, removed or inserted behind the platform's back breaks the
chain at a place ``verify`` names. What it cannot prove alone: someone able to rewrite the whole
chain from some entry on, head included, leaves a consistent log. Against that, keep the head
(``xinyong audit verify`` prints it) somewhere else from time to time and pass it back as an
anchor (``--anchor SEQ:HASH``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.engine import Connection, Engine, Row

from xinyong.audit.models import AuditEntry
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.subjects.models import Subject

GENESIS = "0" * 64
VERIFY_CHUNK = 10_000
EXPORT_CHUNK = 2_000
ACTION_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Free-text fields are bounded so that a hostile value (a purpose sent by a client) cannot
# bloat the log; the cut is made before hashing, so the stored value is the hashed one.
MAX_TEXT = {"actor": 200, "role": 64, "purpose": 500, "target": 200}

Sort = Literal["asc", "desc"]

# The Chinese label of each action code the platform writes. A code not listed here still
# works (it is shown as is): domains may add actions before this table learns their label.
ACTIONS: dict[str, str] = {
    "record.read_restricted": "查阅有限公开信息",
    "profile.read_restricted": "查阅非公开信用档案",
    "evaluation.read_explain": "查阅评价说明",
    "record.correct": "更正信用记录",
    "record.correct_class": "更正处罚类别",
    "record.status": "变更记录状态",
    "ingest.batch": "归集批次入库",
    "pending.resolve": "处理待匹配记录",
    "pending.rematch": "重新匹配待匹配记录",
    "model.register": "登记评价模型",
    "model.activate": "启用评价模型",
    "evaluation.run": "执行信用评价",
    "department.create": "新增数据来源单位",
    "token.issue": "签发接口令牌",
    "token.revoke": "吊销接口令牌",
    "account.register": "注册账号",
    "account.create": "创建账号",
    "account.approve": "审核通过账号",
    "account.reject": "驳回账号申请",
    "account.enable": "启用账号",
    "account.disable": "停用账号",
    "account.unlock": "解锁账号",
    "account.password": "修改密码",
    "account.locked": "账号因多次登录失败被锁定",
    "account.login": "登录",
    "supervision.library_create": "创建监管企业库",
    "audit.export": "导出审计日志",
    "reports.issue": "出具信用报告",
    "reports.read_restricted": "查阅信用报告全文",
    "credit_code.issue": "生成信用码",
    "repair.apply": "提交信用修复申请",
    "repair.materials": "补齐修复材料",
    "repair.accept": "受理信用修复申请",
    "repair.not_accept": "不予受理信用修复申请",
    "repair.review": "部门核实修复申请",
    "repair.approve": "准予信用修复",
    "repair.reject": "不予信用修复",
    "repair.lapse": "容缺修复申请逾期失效",
    "objection.file": "提出异议",
    "objection.evidence": "补充异议证据",
    "objection.accept": "受理异议",
    "objection.refuse": "不予受理异议",
    "objection.check": "平台核查异议",
    "objection.assign": "转数据来源单位核实",
    "objection.answer": "数据来源单位答复异议",
    "objection.decide": "作出异议处理决定",
    "objection.sweep": "异议逾期标记",
    "commitments.request": "发起信用承诺",
    "commitments.sign": "签署信用承诺",
    "commitments.cancel": "撤回信用承诺",
    "commitments.fulfil": "确认承诺履约",
    "commitments.breach": "认定承诺失信",
    "commitments.read": "查阅信用承诺",
    "commitments.sweep": "承诺到期提醒与逾期标记",
    "notification.retry": "重发通知",
}

COLUMNS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "subject_id",
    "purpose",
    "target",
    "detail",
    "prev_hash",
    "hash",
)
_SELECT_ENTRIES = f"SELECT {', '.join(COLUMNS)} FROM audit_log"

# ------------------------------------------------------------------------------------ hashing


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    """One text for one value, whoever writes it: keys sorted, no spaces, non-ASCII as is."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default
    )


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash of an entry: ``fields`` holds the nine hashed fields as stored."""
    body = canonical_json({k: fields[k] for k in COLUMNS[:9]})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _clean(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    # PostgreSQL text cannot hold NUL; dropping it here keeps both engines hashing one value.
    value = value.replace("\x00", "")
    return value[: MAX_TEXT[name]]


def _timestamp() -> str:
    return clock.now().astimezone(clock.CST).isoformat(timespec="microseconds")


# ------------------------------------------------------------------------------------ append


def _advance_head(conn: Connection) -> tuple[int, str]:
    """Take the next number and the previous hash, locking the head until the caller commits:
    a row lock on PostgreSQL, the database write lock on SQLite. Writers are thereby serialised,
    so two entries can never claim the same predecessor."""
    advance = text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
    row = conn.execute(advance).first()
    if row is None:
        # The head row is gone only if the table was emptied (TRUNCATE, which row triggers do
        # not see): start again from the log's own tail, or from the beginning.
        tail = conn.execute(
            text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        ).first()
        seq, last = (int(tail[0]), str(tail[1])) if tail else (0, GENESIS)
        conn.execute(
            text(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :hash)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            {"seq": seq, "hash": last},
        )
        row = conn.execute(advance).first()
        assert row is not None
    return int(row[0]), str(row[1])


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    role: str | None = None,
    subject_id: int | None = None,
    purpose: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write one entry inside the caller's transaction and return its number.

    The caller commits; a rolled-back transaction leaves no entry and no hole. The head stays
    locked until then, so append as late in the transaction as possible (after the work it
    records, just before the commit): other writers of the log wait for it.
    """
    if not ACTION_CODE.fullmatch(action):
        raise ValueError(f"audit action must be a dotted lower-case code, got {action!r}")
    if not actor or not actor.strip():
        raise ValueError("audit actor is required")
    seq, prev = _advance_head(conn)
    # Taken after the lock, so that time never runs backwards along the chain (real clock).
    fields: dict[str, Any] = {
        "seq": seq,
        "at": _timestamp(),
        "actor": _clean("actor", actor.strip()),
        "role": _clean("role", role),
        "action": action,
        "subject_id": int(subject_id) if subject_id is not None else None,
        "purpose": _clean("purpose", purpose),
        "target": _clean("target", target),
        "detail": canonical_json(detail) if detail is not None else None,
    }
    digest = entry_hash(prev, fields)
    conn.execute(AuditEntry.__table__.insert().values(**fields, prev_hash=prev, hash=digest))
    conn.execute(text("UPDATE audit_head SET hash = :hash WHERE id = 1"), {"hash": digest})
    return seq


def append_now(
    *,
    actor: str,
    action: str,
    role: str | None = None,
    subject_id: int | None = None,
    purpose: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    engine: Engine | None = None,
) -> int:
    """Write one entry in a short transaction of its own, committed before returning.

    For reads of restricted data: call it after the data are read and before they are sent, so
    that nothing is shown unrecorded (if the entry cannot be written, the request fails). A
    read request must not append on its own session instead: on SQLite a transaction that has
    read cannot start writing once anyone else has committed since ("database is locked"), and
    on both engines it would hold the head's lock for the rest of the request. Not for state
    changes (their entry belongs in their transaction), nor while this thread holds an open
    write transaction on SQLite (it would wait for itself).
    """
    from xinyong.core.db import get_engine

    with (engine or get_engine()).begin() as conn:
        return append(
            conn,
            actor=actor,
            action=action,
            role=role,
            subject_id=subject_id,
            purpose=purpose,
            target=target,
            detail=detail,
        )


def head(conn: Connection) -> tuple[int, str] | None:
    """The chain's tip (number and hash of the last entry); None if the head row is missing."""
    row = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    return (int(row[0]), str(row[1])) if row else None


# ------------------------------------------------------------------------------------ verify


@dataclass
class VerifyResult:
    ok: bool
    checked: int  # entries whose hash and link were checked and found right
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    code: str | None = None  # AUDIT_HASH_MISMATCH / _CHAIN_BROKEN / _GAP / _HEAD_MISMATCH / …
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fields(row: Row[Any]) -> dict[str, Any]:
    return dict(zip(COLUMNS, row, strict=True))


def verify(conn: Connection, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole chain in order and name the first entry that is not what was written.

    Rows are read in chunks of ``VERIFY_CHUNK`` by key range, so memory does not grow with the
    log. The head is read first and only entries up to it are walked: entries appended while
    the check runs (committed together with a later head) are neither missed nor blamed.
    ``anchor`` (a number and hash kept outside the database) must still be in the chain.
    """
    tip = head(conn)
    head_seq, head_hash = tip if tip else (None, None)

    def bad(seq: int, code: str, reason: str) -> VerifyResult:
        # Everything before the first bad entry was checked and found right.
        return VerifyResult(False, max(seq - 1, 0), head_seq, head_hash, seq, code, reason)

    upto = head_seq
    expected, checked = 1, 0
    prev, before_prev = GENESIS, ""
    after = 0
    anchor_seen = False
    while True:
        sql = _SELECT_ENTRIES + " WHERE seq > :after"
        params: dict[str, Any] = {"after": after, "n": VERIFY_CHUNK}
        if upto is not None:
            sql += " AND seq <= :upto"
            params["upto"] = upto
        rows = conn.execute(text(sql + " ORDER BY seq LIMIT :n"), params).all()
        if not rows:
            break
        for row in rows:
            f = _fields(row)
            seq = int(f["seq"])
            if seq != expected:
                span = f"第 {expected} 条" if seq == expected + 1 else f"第 {expected}–{seq - 1} 条"
                jump = (
                    f"日志从第 {expected - 1} 条直接跳到第 {seq} 条"
                    if expected > 1
                    else f"日志从第 {seq} 条开始"
                )
                return bad(expected, "AUDIT_GAP", f"{span}缺失：记录被删除（{jump}）")
            own = entry_hash(f["prev_hash"], f)
            if f["prev_hash"] != prev:
                # Linking past the previous entry to the one before it is the trace of an
                # insertion (whatever renumbering of this entry came with it).
                if seq > 1 and f["prev_hash"] == before_prev:
                    return bad(
                        seq - 1,
                        "AUDIT_CHAIN_BROKEN",
                        f"第 {seq - 1} 条是插入的：第 {seq} 条的前序哈希指向第 {seq - 2} 条",
                    )
                if own != f["hash"]:
                    return bad(
                        seq, "AUDIT_HASH_MISMATCH", f"第 {seq} 条的内容与其哈希不符：该条记录被改动"
                    )
                if seq == 1:
                    return bad(
                        1, "AUDIT_CHAIN_BROKEN", "第 1 条的前序哈希不是链的起点：该条记录是伪造的"
                    )
                # Both entries are whole, but do not link: the earlier one is the first suspect.
                return bad(
                    seq - 1,
                    "AUDIT_CHAIN_BROKEN",
                    f"第 {seq} 条记下的前序哈希与第 {seq - 1} 条的哈希不符："
                    f"第 {seq - 1} 条被替换，或第 {seq} 条是伪造的",
                )
            if own != f["hash"]:
                return bad(
                    seq, "AUDIT_HASH_MISMATCH", f"第 {seq} 条的内容与其哈希不符：该条记录被改动"
                )
            if anchor is not None and seq == anchor[0]:
                anchor_seen = True
                if f["hash"] != anchor[1]:
                    return bad(
                        seq,
                        "AUDIT_ANCHOR_MISMATCH",
                        f"第 {seq} 条的哈希与留存的锚点不符：日志自该条或更早处被整体重写",
                    )
            before_prev, prev = prev, f["hash"]
            expected, checked, after = seq + 1, checked + 1, seq
    last = expected - 1

    if tip is None:
        if last == 0:  # nothing was ever written (or the tables were emptied together)
            return VerifyResult(True, 0, None, None)
        return bad(
            last + 1, "AUDIT_HEAD_MISMATCH", "链头记录缺失：无法确认日志末尾是否有记录被删除"
        )
    assert head_seq is not None
    if last < head_seq:
        span = f"第 {last + 1} 条" if last + 1 == head_seq else f"第 {last + 1}–{head_seq} 条"
        return bad(
            last + 1,
            "AUDIT_HEAD_MISMATCH",
            f"{span}缺失：日志末尾的记录被删除（链头记录为第 {head_seq} 条）",
        )
    if last > 0 and prev != head_hash:
        return bad(
            last,
            "AUDIT_HEAD_MISMATCH",
            f"最后一条（第 {last} 条）的哈希与链头记录不符：该条记录被替换",
        )
    # One statement, hence one snapshot: an entry appended meanwhile comes with its own head.
    beyond = conn.execute(
        text("SELECT MIN(l.seq) FROM audit_log l, audit_head h WHERE h.id = 1 AND l.seq > h.seq")
    ).scalar()
    if beyond is not None:
        return bad(
            int(beyond),
            "AUDIT_HEAD_MISMATCH",
            f"第 {beyond} 条在链头之后：该条记录是插入的，或链头被改回",
        )
    if anchor is not None and not anchor_seen:
        return bad(
            anchor[0],
            "AUDIT_ANCHOR_MISMATCH",
            f"留存的锚点第 {anchor[0]} 条已不在日志中：末尾的记录被删除",
        )
    return VerifyResult(True, checked, head_seq, head_hash)


def parse_anchor(value: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``verify`` prints it."""
    seq, _, digest = value.strip().partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise DomainError("AUDIT_BAD_ANCHOR", "锚点格式应为 序号:哈希（64 位十六进制）", status=422)
    return int(seq), digest


# ------------------------------------------------------------------------------------ search


def resolve_subject(conn: Connection, key: str | int) -> int:
    """A subject by id or by credit code. Ids are taken as given: the log keeps ids of
    subjects that may no longer be found by code."""
    if isinstance(key, int):
        return key
    value = key.replace("\x00", "").strip()
    if value.isdigit() and len(value) < 18:
        return int(value)
    found = conn.execute(select(Subject.id).where(Subject.uscc == value.upper())).scalar()
    if found is None:
        raise DomainError(
            "AUDIT_SUBJECT_NOT_FOUND", f"没有统一社会信用代码为 {value} 的主体", status=404
        )
    return int(found)


def _actor_names(actor: str) -> list[str]:
    """A bare account name also finds that user's and that system's entries
    ("zhangsan" → user:zhangsan, api:zhangsan); a qualified one ("user:zhangsan") only itself."""
    actor = actor.strip()
    if ":" in actor:
        return [actor]
    return [actor, f"user:{actor}", f"api:{actor}"]


def conditions(
    conn: Connection,
    *,
    actor: str | None = None,
    subject: str | int | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[ColumnElement[bool]]:
    """The filters of a search as SQL conditions; raises ``DomainError`` on a bad filter."""
    log = AuditEntry.__table__.c
    where: list[ColumnElement[bool]] = []
    if actor and actor.strip():
        where.append(log.actor.in_(_actor_names(actor)))
    if subject is not None and str(subject).strip():
        where.append(log.subject_id == resolve_subject(conn, subject))
    if action and action.strip():
        # Codes are dotted: "record" finds record.read_restricted and record.correct.
        where.append(log.action.startswith(action.strip(), autoescape=True))
    if since and until and since > until:
        raise DomainError("AUDIT_BAD_RANGE", "起始日期晚于截止日期", status=422)
    # ``at`` is ISO text at +08:00 everywhere, so text order is time order and a date string
    # is the start of its day in China Standard Time.
    if since:
        where.append(log.at >= since.isoformat())
    if until:
        where.append(log.at < (until + dt.timedelta(days=1)).isoformat())
    return where


def _check_sort(sort: str) -> None:
    if sort not in ("asc", "desc"):
        raise DomainError(
            "AUDIT_BAD_SORT", "排序只能是 asc（从早到晚）或 desc（从晚到早）", status=422
        )


def _entries(where: Sequence[ColumnElement[bool]], sort: str) -> Any:
    log = AuditEntry.__table__
    subject = Subject.__table__
    order = log.c.seq.asc() if sort == "asc" else log.c.seq.desc()
    return (
        select(
            *(log.c[c] for c in COLUMNS),
            subject.c.uscc.label("subject_uscc"),
            subject.c.name.label("subject_name"),
        )
        .select_from(log.outerjoin(subject, subject.c.id == log.c.subject_id))
        .where(*where)
        .order_by(order)
    )


def _row_dict(row: Row[Any]) -> dict[str, Any]:
    d = dict(row._mapping)
    d["action_label"] = ACTIONS.get(d["action"], d["action"])
    d["detail"] = json.loads(d["detail"]) if d["detail"] else None
    return d


def search(
    conn: Connection,
    *,
    actor: str | None = None,
    subject: str | int | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: Sort = "desc",
) -> tuple[list[dict[str, Any]], int]:
    """Entries matching every given filter, newest first by default, and how many match.

    ``actor``: exact, or a bare account name (see ``_actor_names``); ``subject``: id or credit
    code; ``action``: a code or its dotted prefix; ``since``/``until``: days, both included.
    Time order is chain order (``seq``).
    """
    _check_sort(sort)
    where = conditions(conn, actor=actor, subject=subject, action=action, since=since, until=until)
    total = conn.execute(
        select(func.count()).select_from(AuditEntry.__table__).where(*where)
    ).scalar_one()
    rows = conn.execute(_entries(where, sort).limit(limit).offset(offset)).all()
    return [_row_dict(r) for r in rows], int(total)


CSV_HEADER = (
    "序号",
    "时间",
    "操作者",
    "角色",
    "操作",
    "操作代码",
    "主体ID",
    "统一社会信用代码",
    "主体名称",
    "用途",
    "对象",
    "详情",
    "前序哈希",
    "哈希",
)


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by Excel and WPS; actors and purposes
    # come from outside, so such a cell is prefixed with an apostrophe (OWASP's advice).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(
    conn: Connection,
    *,
    actor: str | None = None,
    subject: str | int | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    sort: Sort = "asc",
) -> Iterator[bytes]:
    """The matching entries as CSV (UTF-8 with BOM, so that Excel and WPS read the Chinese),
    produced chunk by chunk: any size of log streams in bounded memory.

    The filters are checked now (a bad one raises here, before any byte is sent); the rows are
    read as the iterator is consumed, so ``conn`` must stay open until then. The stored detail
    JSON and both hashes are exported, so the export can be re-verified on its own.
    """
    _check_sort(sort)
    where = conditions(conn, actor=actor, subject=subject, action=action, since=since, until=until)
    return _csv_chunks(conn, where, sort)


def _csv_chunks(conn: Connection, where: list[ColumnElement[bool]], sort: str) -> Iterator[bytes]:
    log = AuditEntry.__table__.c
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(CSV_HEADER)
    last: int | None = None
    while True:
        # Keyset paging on seq: each chunk is an index range, never a growing OFFSET.
        step = list(where)
        if last is not None:
            step.append(log.seq > last if sort == "asc" else log.seq < last)
        rows = conn.execute(_entries(step, sort).limit(EXPORT_CHUNK)).all()
        for r in rows:
            m = r._mapping
            writer.writerow(
                [
                    m["seq"],
                    m["at"],
                    _cell(m["actor"]),
                    _cell(m["role"]),
                    ACTIONS.get(m["action"], m["action"]),
                    m["action"],
                    m["subject_id"],
                    m["subject_uscc"],
                    _cell(m["subject_name"]),
                    _cell(m["purpose"]),
                    _cell(m["target"]),
                    m["detail"],
                    m["prev_hash"],
                    m["hash"],
                ]
            )
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
        if len(rows) < EXPORT_CHUNK:
            return
        last = int(rows[-1]._mapping["seq"])
