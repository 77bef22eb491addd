"""Catalog versions in the database: every version ever used is kept with its full content."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from xinyong.catalog.models import CatalogVersion
from xinyong.catalog.types import Catalog
from xinyong.core import clock


def ensure_catalog_version(conn: Connection, catalog: Catalog) -> None:
    """Record the catalog the platform runs with; a changed catalog must carry a new version."""
    row = conn.execute(
        select(CatalogVersion.digest).where(CatalogVersion.version == catalog.version)
    ).first()
    if row is not None:
        if row[0] != catalog.digest:
            from xinyong.catalog.types import CatalogError

            raise CatalogError(
                "CATALOG_VERSION_REUSED",
                f"目录版本 {catalog.version} 的内容已改变：修改目录后须提升版本号，以便既有记录保持原义",
            )
        return
    conn.execute(update(CatalogVersion).values(is_active=False))
    conn.execute(
        CatalogVersion.__table__.insert().values(
            version=catalog.version,
            digest=catalog.digest,
            snapshot=catalog.snapshot(),
            loaded_at=clock.now(),
            is_active=True,
        )
    )
