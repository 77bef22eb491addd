"""Supervision libraries (监管企业库): a department names the subjects it watches — by a
condition over industry, region, kind and the current evaluation results (grade, colour, tags),
or by a list of credit codes — and sees their current grades, tags and recent grade changes.

A condition library has no stored members: its condition is compiled to SQL and run whenever
the library is read, so it follows every new grade at once.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from xinyong.core import clock
from xinyong.core.db import bulk_insert
from xinyong.core.errors import DomainError
from xinyong.core.sqlutil import ts
from xinyong.departments.models import Department
from xinyong.evaluation import service as evaluation
from xinyong.evaluation.features import sql_in, sql_literal
from xinyong.evaluation.scoring import split_codes
from xinyong.supervision.models import SupervisionLibrary

SECTIONS = set("ABCDEFGHIJKLMNOPQRST")
MAX_CODES = 100_000


class SupervisionError(DomainError):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 422,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(code, message, status=status)
        self.problems = problems or []


class Condition(BaseModel):
    """Which subjects belong to a condition library; every given part must hold."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[str] | None = None
    industry_sections: list[str] | None = None
    industry_divisions: list[str] | None = None
    region_prefixes: list[str] | None = None
    model: str | None = Field(None, description="评价模型名称（按等级、赋码、标签筛选时必填）")
    grades: list[str] | None = None
    colours: list[str] | None = None
    tags: list[str] | None = Field(None, description="任一标签即可")


def parse_condition(conn: Connection, raw: dict[str, Any]) -> Condition:
    try:
        cond = Condition.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        reason = "未知条件项" if e["type"] == "extra_forbidden" else e["msg"]
        raise SupervisionError("SUPERVISION_BAD_CONDITION", f"条件 {where}：{reason}") from exc
    if not any(v for v in cond.model_dump().values()):
        raise SupervisionError(
            "SUPERVISION_EMPTY_CONDITION", "条件为空：请至少给出行业、地区、等级或标签之一"
        )
    for s in cond.industry_sections or []:
        if s not in SECTIONS:
            raise SupervisionError("SUPERVISION_BAD_CONDITION", f"行业门类 {s} 不存在（应为 A–T）")
    for d in cond.industry_divisions or []:
        if not re.fullmatch(r"\d{2}", d):
            raise SupervisionError("SUPERVISION_BAD_CONDITION", f"行业大类 {d} 应为两位数字")
    for p in cond.region_prefixes or []:
        if not re.fullmatch(r"\d{2,6}", p):
            raise SupervisionError("SUPERVISION_BAD_CONDITION", f"地区代码前缀 {p} 应为 2–6 位数字")
    needs_model = cond.grades or cond.colours or cond.tags
    if needs_model and not cond.model:
        raise SupervisionError(
            "SUPERVISION_MODEL_REQUIRED", "按等级、赋码或标签筛选时必须指定评价模型 model"
        )
    if cond.model:
        model = evaluation.get_model(conn, cond.model)
        for label, given, known in (
            ("等级", cond.grades, set(model.grade_codes)),
            ("赋码", cond.colours, {c.code for c in model.colours}),
            ("标签", cond.tags, {t.code for t in model.tags}),
        ):
            for v in given or []:
                if v not in known:
                    raise SupervisionError(
                        "SUPERVISION_BAD_CONDITION",
                        f"模型 {model.name} 没有{label} {v}（可用：{'、'.join(sorted(known)) or '无'}）",
                    )
    return cond


def condition_sql(cond: Condition) -> tuple[str, str]:
    """(join, where) over ``subject s``: values are validated above and quoted here."""
    parts = ["1 = 1"]
    join = ""
    if cond.kinds:
        parts.append(sql_in("s.kind", cond.kinds))
    if cond.industry_sections:
        parts.append(sql_in("s.industry_section", cond.industry_sections))
    if cond.industry_divisions:
        parts.append(sql_in("s.industry_division", cond.industry_divisions))
    if cond.region_prefixes:
        parts.append(
            "("
            + " OR ".join(
                f"s.region_code LIKE {sql_literal(p + '%')}" for p in cond.region_prefixes
            )
            + ")"
        )
    if cond.model and (cond.grades or cond.colours or cond.tags):
        join = f" JOIN evaluation_result c ON c.subject_id = s.id AND c.model_name = {sql_literal(cond.model)}"
        if cond.grades:
            parts.append(sql_in("c.grade", cond.grades))
        if cond.colours:
            parts.append(sql_in("c.colour", cond.colours))
        if cond.tags:
            parts.append(
                "("
                + " OR ".join(f"c.tags LIKE {sql_literal('%,' + t + ',%')}" for t in cond.tags)
                + ")"
            )
    return join, " AND ".join(parts)


def _department(conn: Connection, code: str) -> int:
    dept = conn.execute(select(Department.id).where(Department.code == code)).scalar()
    if dept is None:
        raise SupervisionError("DEPARTMENT_NOT_FOUND", f"没有编码为 {code} 的部门", status=404)
    return int(dept)


def create_library(
    conn: Connection,
    *,
    department: str,
    name: str,
    condition: dict[str, Any] | None = None,
    codes: list[str] | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """A library by condition or by codes. A code list with any bad row creates nothing: the
    error lists every bad row (its number, the code and why)."""
    from xinyong.audit.service import append

    lib = _create_library(conn, department=department, name=name, condition=condition,
                          codes=codes, actor=actor)
    append(conn, actor=actor or "system", action="supervision.library_create",
           target=f"library:{lib.get('id')}",
           detail={"department": department, "name": lib.get("name"),
                   "kind": "condition" if condition is not None else "list"})
    return lib


def _create_library(
    conn: Connection,
    *,
    department: str,
    name: str,
    condition: dict[str, Any] | None,
    codes: list[str] | None,
    actor: str | None,
) -> dict[str, Any]:
    name = name.strip()
    if not name or len(name) > 100:
        raise SupervisionError("SUPERVISION_BAD_NAME", "请填写 1–100 个字的库名称")
    if (condition is None) == (codes is None):
        raise SupervisionError("SUPERVISION_KIND", "请给出筛选条件或统一社会信用代码清单（二选一）")
    dept_id = _department(conn, department)
    now = clock.now()
    if condition is not None:
        cond = parse_condition(conn, condition)
        res = conn.execute(
            SupervisionLibrary.__table__.insert().values(
                department_id=dept_id,
                name=name,
                kind="condition",
                condition=cond.model_dump(exclude_none=True),
                created_at=now,
                created_by=actor,
            )
        )
        return get_library(conn, int(res.inserted_primary_key[0]))
    assert codes is not None
    cleaned = [c.strip().upper() for c in codes]
    if not [c for c in cleaned if c]:
        raise SupervisionError(
            "SUPERVISION_EMPTY_LIST", "代码清单为空：请每行填写一个统一社会信用代码"
        )
    if len(cleaned) > MAX_CODES:
        raise SupervisionError("SUPERVISION_LIST_TOO_LONG", f"一次最多 {MAX_CODES} 个代码")
    wanted = sorted({c for c in cleaned if c})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        part = wanted[start : start + 1000]
        rows = conn.execute(
            text("SELECT uscc, id FROM subject WHERE uscc IN :codes").bindparams(
                bindparam("codes", expanding=True)
            ),
            {"codes": part},
        ).all()
        found.update({r[0]: int(r[1]) for r in rows})
    problems = []
    seen: set[str] = set()
    for i, c in enumerate(cleaned, start=1):
        if not c:
            continue
        if c in seen:
            problems.append({"row": i, "code": c, "error": "DUPLICATE", "reason": "与前面的行重复"})
        elif c not in found:
            problems.append(
                {
                    "row": i,
                    "code": c,
                    "error": "SUBJECT_NOT_FOUND",
                    "reason": "平台中没有此统一社会信用代码的主体",
                }
            )
        seen.add(c)
    if problems:
        first = problems[0]
        raise SupervisionError(
            "SUPERVISION_BAD_CODES",
            f"代码清单有 {len(problems)} 行无法使用，未创建监管库；第 {first['row']} 行 {first['code']}："
            f"{first['reason']}",
            problems=problems,
        )
    res = conn.execute(
        SupervisionLibrary.__table__.insert().values(
            department_id=dept_id,
            name=name,
            kind="list",
            condition=None,
            created_at=now,
            created_by=actor,
        )
    )
    lib_id = int(res.inserted_primary_key[0])
    stamp = ts(conn, now)
    bulk_insert(
        conn,
        "supervision_member",
        ["library_id", "subject_id", "added_at"],
        [(lib_id, sid, stamp) for sid in sorted(set(found.values()))],
    )
    return get_library(conn, lib_id)


def _row(conn: Connection, library_id: int) -> Any:
    t = SupervisionLibrary.__table__
    row = conn.execute(select(t).where(t.c.id == library_id)).first()
    if row is None:
        raise SupervisionError("SUPERVISION_NOT_FOUND", f"监管库 {library_id} 不存在", status=404)
    return row


def _members_sql(row: Any) -> tuple[str, str]:
    if row.kind == "list":
        return (
            f" JOIN supervision_member m ON m.subject_id = s.id AND m.library_id = {int(row.id)}",
            "1 = 1",
        )
    return condition_sql(Condition.model_validate(row.condition or {}))


def get_library(conn: Connection, library_id: int) -> dict[str, Any]:
    row = _row(conn, library_id)
    join, where = _members_sql(row)
    size = conn.scalar(text(f"SELECT COUNT(*) FROM subject s{join} WHERE {where}")) or 0
    dept = conn.execute(
        select(Department.code, Department.name).where(Department.id == row.department_id)
    ).first()
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "condition": row.condition,
        "department": dept[0] if dept else None,
        "department_name": dept[1] if dept else None,
        "size": int(size),
        "created_at": str(row.created_at),
        "created_by": row.created_by,
    }


def list_libraries(conn: Connection, department: str | None = None) -> list[dict[str, Any]]:
    t = SupervisionLibrary.__table__
    stmt = select(t.c.id).order_by(t.c.id)
    if department is not None:
        stmt = stmt.where(t.c.department_id == _department(conn, department))
    return [get_library(conn, int(r[0])) for r in conn.execute(stmt)]


def check_owner(conn: Connection, library_id: int, department: str | None) -> None:
    """A department sees its own libraries only (the operator, ``department=None``, sees all)."""
    row = _row(conn, library_id)
    if department is not None and row.department_id != _department(conn, department):
        raise SupervisionError(
            "SUPERVISION_FORBIDDEN", "这是其他部门的监管库，无权查看", status=403
        )


def members(
    conn: Connection,
    library_id: int,
    *,
    model: str | None = None,
    since: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of members with their current result under ``model`` (default: the library's
    own model, else the first active one) and their last grade change since ``since``."""
    row = _row(conn, library_id)
    join, where = _members_sql(row)
    model_name = model or (row.condition or {}).get("model")
    if model_name is None:
        active = [m["name"] for m in evaluation.list_models(conn) if m["status"] == "active"]
        model_name = "samr_risk" if "samr_risk" in active else (active[0] if active else None)
    since = since or (clock.today() - dt.timedelta(days=30))
    total = int(conn.scalar(text(f"SELECT COUNT(*) FROM subject s{join} WHERE {where}")) or 0)
    rows = conn.execute(
        text(
            f"SELECT s.id, s.uscc, s.name, s.industry_section, s.region_code, r.grade, r.colour,"
            f" r.tags, r.score, r.as_of FROM subject s{join}"
            " LEFT JOIN evaluation_result r ON r.subject_id = s.id AND r.model_name = :model"
            f" WHERE {where} ORDER BY s.id LIMIT :limit OFFSET :offset"
        ),
        {"model": model_name or "", "limit": limit, "offset": offset},
    ).all()
    ids = [int(r[0]) for r in rows]
    changes: dict[int, dict[str, Any]] = {}
    if ids and model_name:
        hist = conn.execute(
            text(
                "SELECT subject_id, as_of, prev_grade, grade FROM evaluation_history"
                f" WHERE model_name = :model AND subject_id IN ({', '.join(map(str, ids))})"
                " AND as_of >= :since AND prev_grade IS NOT NULL AND prev_grade <> grade"
                " ORDER BY id"
            ),
            {
                "model": model_name,
                "since": since if conn.dialect.name == "postgresql" else since.isoformat(),
            },
        ).all()
        for sid, as_of, prev, grade in hist:
            changes[int(sid)] = {"as_of": str(as_of), "from": prev, "to": grade}
    tag_names: dict[str, str] = {}
    if model_name:
        m = evaluation.get_model(conn, model_name)
        tag_names = {t.code: t.name for t in m.tags}
    return {
        "library": get_library(conn, library_id),
        "model": model_name,
        "since": since.isoformat(),
        "total": total,
        "members": [
            {
                "subject_id": int(r[0]),
                "uscc": r[1],
                "name": r[2],
                "industry_section": r[3],
                "region_code": r[4],
                "grade": r[5],
                "colour": r[6],
                "tags": [{"code": c, "name": tag_names.get(c, c)} for c in split_codes(r[7])],
                "score": r[8],
                "as_of": str(r[9]) if r[9] is not None else None,
                "change": changes.get(int(r[0])),
            }
            for r in rows
        ],
    }
