"""The web application: JSON API (OpenAPI at /docs) and the Chinese web pages."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from xinyong import __version__
from xinyong.core import clock
from xinyong.core.db import close_async_readers
from xinyong.core.errors import DomainError

STATIC = Path(__file__).parent / "web" / "static"
# npm packages (package.json at the repository root; `make setup` installs them).
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
HTTP_MESSAGES = {
    404: "没有这个页面或接口，请检查地址",
    405: "不支持该请求方法",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def create_app() -> FastAPI:
    clock.configure_from_settings()
    from xinyong.core.security import resolve_principal

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from xinyong.core.config import get_settings

        frozen = get_settings().gc_freeze
        if frozen:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await close_async_readers()
            if frozen:
                gc.unfreeze()

    app = FastAPI(
        lifespan=lifespan,
        # Who is calling is settled once, before any route's own dependencies (see
        # core/security.py); a request without credentials costs nothing here.
        dependencies=[Depends(resolve_principal)],
        title="xinyong 公共信用信息平台",
        version=__version__,
        description="信用主体、信用信息目录、归集与一企一档的接口。错误响应统一为 "
        '`{"code": 稳定错误代码, "message": 中文说明}`。',
    )

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if _wants_html(request):
            from xinyong.web.render import error_page

            return error_page(request, exc.message, exc.status)  # type: ignore[return-value]
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

    # Starlette's own exception (unknown URL, wrong method) is the base of FastAPI's.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {
                "code": f"HTTP_{exc.status_code}",
                "message": HTTP_MESSAGES.get(exc.status_code, str(exc.detail)),
            }
        )
        if _wants_html(request) and exc.status_code == 401:
            from urllib.parse import quote

            from fastapi.responses import RedirectResponse

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)  # type: ignore[return-value]
        if _wants_html(request):
            from xinyong.web.render import error_page

            page = error_page(request, detail.get("message", ""), exc.status_code)
            page.headers.update(exc.headers or {})  # e.g. Retry-After on a 429
            return page  # type: ignore[return-value]
        return JSONResponse(detail, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _wants_html(request):
            from xinyong.web.render import error_page

            return error_page(request, "请求参数有误，请检查后重试", 422)  # type: ignore[return-value]
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "reason": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {
                "code": "REQUEST_INVALID",
                "message": "请求参数有误："
                + "；".join(f"{p['field']} {p['reason']}" for p in problems),
                "problems": problems,
            },
            status_code=422,
        )

    from xinyong.accounts.api import router as accounts_api
    from xinyong.accounts.pages import router as accounts_pages
    from xinyong.audit.api import router as audit_api
    from xinyong.audit.pages import router as audit_pages
    from xinyong.catalog.api import router as catalog_api
    from xinyong.evaluation.api import router as evaluation_api
    from xinyong.evaluation.pages import router as evaluation_pages
    from xinyong.records.api import router as records_api
    from xinyong.records.lists_api import router as lists_api
    from xinyong.records.lists_pages import router as lists_pages
    from xinyong.subjects.api import router as subjects_api
    from xinyong.supervision.api import router as supervision_api
    from xinyong.supervision.pages import router as supervision_pages
    from xinyong.web.pages import router as pages

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "today": clock.today().isoformat()}

    # In front of every router: the anonymous public profile by credit code (the hot path;
    # anything else falls through to the API route).
    from xinyong.subjects.api import PublicProfileRoute

    app.router.routes.insert(0, PublicProfileRoute())
    app.include_router(accounts_api)
    app.include_router(accounts_pages)
    app.include_router(audit_api)
    app.include_router(audit_pages)
    app.include_router(subjects_api)
    app.include_router(records_api)
    app.include_router(lists_api)
    app.include_router(lists_pages)
    app.include_router(catalog_api)
    app.include_router(evaluation_api)
    app.include_router(pages)
    app.include_router(evaluation_pages)
    app.include_router(supervision_api)
    app.include_router(supervision_pages)
    # Subject services (issue #5): each domain includes its routers below its marker line.
    # -- routers: reports --
    from xinyong.reports.api import router as reports_api
    from xinyong.reports.pages import router as reports_pages

    app.include_router(reports_api)
    app.include_router(reports_pages)
    # -- routers: credit codes --
    from xinyong.reports.codes_api import router as credit_codes_api
    from xinyong.reports.codes_pages import router as credit_codes_pages

    app.include_router(credit_codes_api)
    app.include_router(credit_codes_pages)
    # -- routers: repair --
    from xinyong.repair.api import router as repair_api
    from xinyong.repair.pages import router as repair_pages

    app.include_router(repair_api)
    app.include_router(repair_pages)
    # -- routers: objections --
    from xinyong.objections.api import router as objections_api
    from xinyong.objections.pages import router as objections_pages

    app.include_router(objections_api)
    app.include_router(objections_pages)
    # -- routers: commitments --
    from xinyong.commitments.api import router as commitments_api
    from xinyong.commitments.pages import router as commitments_pages

    app.include_router(commitments_api)
    app.include_router(commitments_pages)
    # -- routers: notifications --
    from xinyong.notifications.api import router as notifications_api
    from xinyong.notifications.pages import router as notifications_pages

    app.include_router(notifications_api)
    app.include_router(notifications_pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    echarts = NODE_MODULES / "echarts" / "dist"
    if echarts.is_dir():  # pages still work without it: their tables carry the same data
        app.mount("/vendor/echarts", StaticFiles(directory=echarts), name="echarts")
    return app
