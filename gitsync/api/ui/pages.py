"""The read-only pages: overview, a unit, its history, a generation's plan and files,
and the cheap version check the live pages poll."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from gitsync.api.ui import views
from gitsync.api.ui.filemask import masked_text
from gitsync.api.ui.planhtml import plan_html, text_to_html
from gitsync.api.ui.plans import PlanStore
from gitsync.api.ui.provider import agent_view
from gitsync.api.ui.render import (
    engine_of,
    error_page,
    live_version,
    page,
    reads_of,
    templates,
    ui_auth,
)
from gitsync.api.ui.state import page_state
from gitsync.engine.records import AppId
from gitsync.errors import GitsyncError, NotFound

Handler = Callable[[Request], Awaitable[Response]]
MAX_FILE_SHOWN = 1024 * 1024


def plan_store(request: Request) -> PlanStore:
    return page_state(request).plans


def unit_of(request: Request) -> AppId:
    return AppId(request.path_params["tenant"], request.path_params["application"])


def guarded(handler: Handler) -> Handler:
    """Reads need what the API's reads need; GitsyncErrors become an HTML page."""

    async def run(request: Request) -> Response:
        if not ui_auth(request).may_read(request):
            if request.url.path == "/ui/version":
                return JSONResponse({"error-code": "UNAUTHORIZED"}, status_code=401)
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/ui/login?next={target}", status_code=303)
        try:
            return await handler(request)
        except GitsyncError as exc:
            return error_page(request, exc)

    return run


@guarded
async def overview(request: Request) -> Response:
    rows = await run_in_threadpool(views.overview, reads_of(request), agent_view(request))
    return page(
        request, "overview.html", {"title": "Deployment units", "units": rows, "live": True}
    )


@guarded
async def unit(request: Request) -> Response:
    the_unit = unit_of(request)
    reads = reads_of(request)
    stamp = reads.stamp()
    data = await run_in_threadpool(views.unit_page, reads, agent_view(request), the_unit)
    pending = data["pending"]

    def render_apps() -> Markup:
        rows = views.app_rows(reads.live(the_unit))
        return Markup(templates.get_template("_apps.html").render(apps=rows))

    fragments = page_state(request).fragments
    apps_html = await run_in_threadpool(fragments.get, ("apps", the_unit), stamp, render_apps)
    return page(
        request,
        "unit.html",
        {
            "title": f"{the_unit.tenant}/{the_unit.application}",
            "unit": data,
            "apps_html": apps_html,
            "pending_html": plan_html(pending.plan) if pending else None,
            "live": True,
        },
    )


@guarded
async def history(request: Request) -> Response:
    the_unit = unit_of(request)
    rows = await run_in_threadpool(views.history_rows, reads_of(request), the_unit)
    return page(
        request,
        "history.html",
        {
            "title": f"History of {the_unit.tenant}/{the_unit.application}",
            "tenant": the_unit.tenant,
            "application": the_unit.application,
            "rows": rows,
            "live": True,
        },
    )


@guarded
async def generation(request: Request) -> Response:
    the_unit = unit_of(request)
    number = int(request.path_params["generation"])
    reads = reads_of(request)
    history = await run_in_threadpool(reads.history, the_unit)
    found = await run_in_threadpool(
        plan_store(request).of_generation, engine_of(request), history, the_unit, number
    )
    active = await run_in_threadpool(views.active_generation, reads, the_unit)
    return page(
        request,
        "generation.html",
        {
            "title": f"Generation {number} of {the_unit.tenant}/{the_unit.application}",
            "tenant": the_unit.tenant,
            "application": the_unit.application,
            "entry": views.history_row(found.entry, active),
            "predecessor": found.predecessor,
            "plan_html": text_to_html(found.text),
        },
    )


@guarded
async def files(request: Request) -> Response:
    the_unit = unit_of(request)
    number = int(request.path_params["generation"])
    engine = engine_of(request)
    content = await run_in_threadpool(
        engine.generation_files, the_unit.tenant, the_unit.application, number
    )
    chosen = request.query_params.get("path")
    shown: str | None = None
    if chosen is not None:
        if chosen not in content:
            raise_not_found(chosen, number)
        shown = masked_text(chosen, content[chosen], MAX_FILE_SHOWN)
    return page(
        request,
        "files.html",
        {
            "title": f"Files of generation {number}",
            "tenant": the_unit.tenant,
            "application": the_unit.application,
            "generation": number,
            "paths": sorted(content),
            "sizes": {path: len(data) for path, data in content.items()},
            "chosen": chosen,
            "shown": shown,
        },
    )


def raise_not_found(path: str, generation: int) -> None:
    raise NotFound(f"Generation {generation} has no file '{path}'")


@guarded
async def version(request: Request) -> Response:
    """The live pages' poll: 304 while nothing changed (no SQLite read)."""
    current = f'"{live_version(request)}"'
    headers = {"ETag": current, "Cache-Control": "no-store"}
    if request.headers.get("if-none-match") == current:
        return Response(status_code=304, headers=headers)
    return JSONResponse({"version": current.strip('"')}, headers=headers)
