"""Record routes: department pushes, batches and their error reports, the pending queue."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.db import get_engine
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import require_admin, require_department
from xinyong.records import service
from xinyong.records.ingest import BatchResult, ingest_file, ingest_records
from xinyong.records.models import Batch

router = APIRouter(prefix="/api/v1", tags=["信用信息归集"])

MAX_UPLOAD = 2 * 1024**3


class PushBody(BaseModel):
    records: list[dict[str, Any]] = Field(
        ..., description="记录列表，字段名可用目录字段名、中文名或映射方案中的列名"
    )
    profile: str | None = Field(None, description="映射方案名称，缺省按目录字段")
    strict: bool = Field(False, description="严格模式：任一行有误则整批不导入")


def _result(result: BatchResult, error_limit: int = 1000) -> dict[str, Any]:
    out = result.summary()
    out["errors"] = result.errors.head(error_limit).to_dicts()
    out["errors_truncated"] = result.errors.height > error_limit
    return out


@router.post("/records/{record_type}", summary="部门系统推送信用记录（JSON）")
def push_records(
    record_type: str,
    body: PushBody = Body(...),
    caller: Principal = Depends(require_department),
) -> dict[str, Any]:
    result = ingest_records(
        get_engine(),
        body.records,
        record_type=record_type,
        department=caller.department_code,
        profile=body.profile,
        strict=body.strict,
        actor=caller.actor,
    )
    return _result(result)


@router.post("/records/{record_type}/upload", summary="部门上传文件（CSV、XLSX、JSON Lines）")
def upload_records(
    record_type: str,
    file: UploadFile = File(...),
    profile: str | None = Form(None),
    strict: bool = Form(False),
    caller: Principal = Depends(require_department),
) -> dict[str, Any]:
    return _result(
        _ingest_upload(
            file,
            record_type,
            caller.department_code,
            profile,
            strict,
            caller.actor,
        )
    )


def _ingest_upload(
    file: UploadFile,
    record_type: str,
    department: str,
    profile: str | None,
    strict: bool,
    actor: str,
) -> BatchResult:
    suffix = Path(file.filename or "upload.csv").suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        size = 0
        while block := file.file.read(1 << 20):
            size += len(block)
            if size > MAX_UPLOAD:
                raise DomainError("FILE_TOO_LARGE", "文件超过 2GB，请分批上传", status=413)
            tmp.write(block)
        tmp.flush()
        if size == 0:
            raise DomainError("FILE_EMPTY", "上传的文件为空")
        return ingest_file(
            get_engine(),
            Path(tmp.name),
            record_type=record_type,
            department=department,
            profile=profile or None,
            strict=strict,
            actor=actor,
            source_name=file.filename,
        )


def _batch_dict(b: Batch) -> dict[str, Any]:
    return {
        "id": b.id,
        "department_id": b.department_id,
        "record_type": b.record_type,
        "profile": b.profile,
        "source_name": b.source_name,
        "file_format": b.file_format,
        "encoding": b.encoding,
        "catalog_version": b.catalog_version,
        "strict": b.strict,
        "status": b.status,
        "rows_total": b.rows_total,
        "rows_inserted": b.rows_inserted,
        "rows_corrected": b.rows_corrected,
        "rows_unchanged": b.rows_unchanged,
        "rows_pending": b.rows_pending,
        "rows_rejected": b.rows_rejected,
        "message": b.message,
        "started_at": b.started_at.isoformat(),
        "finished_at": b.finished_at.isoformat() if b.finished_at else None,
    }


@router.get("/batches", summary="本部门的归集批次")
def my_batches(
    page: int = Query(1, ge=1),
    size: int = Query(20, ge=1, le=200),
    caller: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    rows, total = service.list_batches(
        session, department_id=caller.department_id, limit=size, offset=(page - 1) * size
    )
    return {"total": total, "page": page, "size": size, "items": [_batch_dict(b) for b in rows]}


@router.get("/batches/{batch_id}", summary="批次详情与错误行")
def batch_detail(
    batch_id: int,
    caller: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    batch = service.get_batch(session, batch_id, caller.department_id)
    errors = service.batch_errors(session, batch_id, limit=1000)
    return {
        **_batch_dict(batch),
        "errors": [
            {
                "row_number": e.row_number,
                "field": e.field,
                "code": e.code,
                "message": e.message,
                "value": e.value,
            }
            for e in errors
        ],
    }


@router.get("/batches/{batch_id}/errors.{fmt}", summary="下载错误报告（csv 或 xlsx）")
def batch_error_report(
    batch_id: int,
    fmt: str,
    caller: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    service.get_batch(session, batch_id, caller.department_id)
    return error_report_response(session, batch_id, fmt)


def error_report_response(session: Session, batch_id: int, fmt: str) -> Response:
    if fmt == "csv":
        body, media = service.error_report_csv(session, batch_id), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = service.error_report_xlsx(session, batch_id)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise DomainError("FORMAT_UNSUPPORTED", "错误报告只支持 csv 或 xlsx 格式", status=404)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-errors.{fmt}"'},
    )


# ---------------------------------------------------------------------------- admin


@router.get(
    "/admin/batches", summary="全部归集批次（管理员）", dependencies=[Depends(require_admin)]
)
def all_batches(
    page: int = Query(1, ge=1),
    size: int = Query(20, ge=1, le=200),
    status: str | None = None,
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    rows, total = service.list_batches(session, status=status, limit=size, offset=(page - 1) * size)
    return {"total": total, "page": page, "size": size, "items": [_batch_dict(b) for b in rows]}


@router.get("/admin/pending", summary="待匹配队列（管理员）", dependencies=[Depends(require_admin)])
def pending_queue(
    page: int = Query(1, ge=1),
    size: int = Query(20, ge=1, le=200),
    q: str | None = None,
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    rows, total = service.list_pending(session, q=q, limit=size, offset=(page - 1) * size)
    return {
        "total": total,
        "page": page,
        "size": size,
        "items": [
            {
                "id": p.id,
                "batch_id": p.batch_id,
                "record_type": p.record_type,
                "row_number": p.row_number,
                "subject_name": p.subject_name,
                "uscc": p.uscc,
                "reason": p.reason,
                "candidates": p.candidates,
                "title": p.payload.get("title"),
                "decided_on": p.payload.get("decided_on"),
            }
            for p in rows
        ],
    }


class ResolveBody(BaseModel):
    subject_id: int
    same_name: bool = Field(False, description="同时处理同名的全部待匹配记录")


@router.post("/admin/pending/{pending_id}/resolve", summary="为待匹配记录指定信用主体（管理员）")
def resolve(
    pending_id: int,
    body: ResolveBody,
    admin: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    ids = service.resolve_pending(
        session, pending_id, body.subject_id, actor=admin.actor, same_name=body.same_name
    )
    return {"record_ids": ids}


class ClassBody(BaseModel):
    penalty_class: str
    reason: str = Field(..., min_length=2)


@router.post("/admin/records/{record_id}/class", summary="更正处罚失信程度（管理员）")
def correct_class(
    record_id: int,
    body: ClassBody,
    admin: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    service.correct_class(session, record_id, body.penalty_class, actor=admin.actor, reason=body.reason)
    return {"record_id": record_id, "history": service.record_history(session, record_id)}
