"""Catalog routes: the record types the platform accepts, with their fields and rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xinyong.catalog.loader import load_catalog

router = APIRouter(prefix="/api/v1/catalog", tags=["信用信息目录"])


@router.get("", summary="信用信息目录（当前版本）")
def catalog() -> dict[str, Any]:
    return load_catalog().snapshot()


@router.get("/{record_type}", summary="一个信息类别的字段与规则")
def record_type(record_type: str) -> dict[str, Any]:
    cat = load_catalog()
    rtype = cat.type(record_type)
    snap = cat.snapshot()
    for t in snap.get("types", snap.get("record_types", [])):
        if isinstance(t, dict) and t.get("code") == rtype.code:
            return t
    return {"code": rtype.code, "label": rtype.label}
