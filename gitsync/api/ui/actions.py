"""The page's actions: sign in and out, Sync now, Refresh, Roll back.

Every POST here passes ``checked`` first: same origin, the CSRF token of the caller's
session, and the engine's token when one is configured. They then answer with a
redirect (303) to the page that shows the outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gitsync.api.ui import views
from gitsync.api.ui.auth import COOKIE, same_origin_refusal
from gitsync.api.ui.pages import guarded, plan_store, unit_of
from gitsync.api.ui.planhtml import plan_html
from gitsync.api.ui.provider import AgentView, agent_view
from gitsync.api.ui.render import engine_of, page, reads_of, refusal, ui_auth
from gitsync.errors import BadRequest, GitsyncError, NotFound

Handler = Callable[[Request], Awaitable[Response]]
SYNC_WAIT_S = 60.0
MAX_FORM_BYTES = 16 * 1024


def _unit_url(request: Request, suffix: str = "") -> str:
    tenant = quote(request.path_params["tenant"], safe="")
    application = quote(request.path_params["application"], safe="")
    return f"/ui/units/{tenant}/{application}{suffix}"


def _see(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?{urlencode({'notice': notice})}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The page's forms are small and url-encoded: parsed here, capped, no multipart."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("", "application/x-www-form-urlencoded"):
        raise BadRequest(f"Forms are sent url-encoded, not as '{kind}'")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadRequest("Form too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Form is not valid: {exc}") from exc
    return dict(pairs)


FormHandler = Callable[[Request, dict[str, str]], Awaitable[Response]]


def checked(handler: FormHandler, *, needs_token: bool = True) -> Handler:
    """Same origin, CSRF token, then the engine's token (403, 403, 401)."""

    async def run(request: Request) -> Response:
        auth = ui_auth(request)
        refused = same_origin_refusal(request)
        if refused is not None:
            return refusal(request, 403, refused)
        try:
            form = await _form(request)
        except GitsyncError as exc:
            return refusal(request, exc.http_status, exc.message)
        if not auth.csrf_ok(request, form.get("csrf", "")):
            return refusal(
                request, 403, "Refused: the form's CSRF token is missing or stale; reload the page"
            )
        if needs_token and not auth.may_act(request):
            return refusal(
                request, 401, "Refused: this action needs the engine's token; sign in first"
            )
        try:
            return await handler(request, form)
        except GitsyncError as exc:
            return refusal(request, exc.http_status, exc.message)

    return run


async def _sign_in(request: Request, form: dict[str, str]) -> Response:
    auth = ui_auth(request)
    target = form.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if not auth.token_matches(form.get("token", "")):
        return refusal(request, 403, "Invalid token")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        auth.session_value or "",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


sign_in = checked(_sign_in, needs_token=False)


async def sign_in_form(request: Request) -> Response:
    return page(
        request, "login.html", {"title": "Sign in", "next": request.query_params.get("next", "/")}
    )


async def sign_out(request: Request) -> Response:
    refused = same_origin_refusal(request)
    if refused is not None:
        return refusal(request, 403, refused)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _agent_for(request: Request) -> AgentView:
    agent = agent_view(request)
    the_unit = unit_of(request)
    if agent is None or (agent.tenant, agent.application) != (
        the_unit.tenant,
        the_unit.application,
    ):
        raise NotFound(f"No agent watches {the_unit.tenant}/{the_unit.application} here")
    return agent


@checked
async def sync_now(request: Request, form: dict[str, str]) -> Response:
    agent = _agent_for(request)
    ticket = agent.request_sync(revert_drift=True)
    done = await run_in_threadpool(agent.wait, ticket, SYNC_WAIT_S)
    last = agent.status().get("lastSync") or {}
    if not done:
        notice = "Sync requested; still running"
    else:
        notice = f"Sync: {last.get('result', '?')}" + (
            f" (generation {last['generation']})" if last.get("generation") else ""
        )
    return _see(_unit_url(request), notice)


@checked
async def refresh(request: Request, form: dict[str, str]) -> Response:
    agent = _agent_for(request)
    agent.request_sync(revert_drift=False)
    return _see(_unit_url(request), "Refresh requested: the agent reads the source now")


@guarded
async def rollback_preview(request: Request) -> Response:
    the_unit = unit_of(request)
    target = int(request.path_params["generation"])
    engine = engine_of(request)
    active = await run_in_threadpool(views.active_generation, reads_of(request), the_unit)
    if target == active:
        raise BadRequest(f"Generation {target} is already active")
    plan = await run_in_threadpool(plan_store(request).between, engine, the_unit, target, active)
    return page(
        request,
        "rollback.html",
        {
            "title": f"Roll back to generation {target}",
            "tenant": the_unit.tenant,
            "application": the_unit.application,
            "target": target,
            "active": active,
            "plan_html": plan_html(plan),
        },
    )


@checked
async def rollback(request: Request, form: dict[str, str]) -> Response:
    the_unit = unit_of(request)
    target = int(request.path_params["generation"])
    if form.get("active", "") != "":
        current = await run_in_threadpool(views.active_generation, reads_of(request), the_unit)
        if str(current) != form["active"]:
            return refusal(
                request,
                409,
                f"Generation {current} became active since the plan was shown; review it again",
            )
    result = await run_in_threadpool(
        engine_of(request).rollback, the_unit.tenant, the_unit.application, target
    )
    return _see(
        _unit_url(request, "/history"),
        f"Rolled back to generation {target}: generation {result.generation} is active",
    )
