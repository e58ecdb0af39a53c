"""Admin pages of the console: inboxes, agents and teams, canned responses, the bot, Shopify.

Plain HTML forms (POST, redirect, GET) with Litestar's CSRF token; every page is admins-only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from agent_console.controllers.console_pages import ERROR_HANDLERS, ListQuery, shell_context
from agent_console.deps import ConsoleContext
from conversation.agents import AgentError, create_agent
from conversation.inboxes import (
    InvalidSettings,
    create_inbox,
    set_agent_inboxes,
    set_members,
    split_settings,
    update_inbox,
)
from conversation.models import Agent, CannedResponse, Inbox, InboxMember, Integration
from conversation.teams import TeamError, create_team, delete_team, list_teams, set_team_members
from conversation.types import SettingsSpec
from conversation.uow import UnitOfWork

#: Settings shown as checkboxes and numbers; everything else is text (secrets are password fields).
BOOLEAN_KEYS = frozenset(
    {"bot_enabled", "imap_tls", "imap_starttls", "smtp_tls", "smtp_starttls", "mark_seen", "pre_chat_form",
     "human_agent_tag"}
)  # fmt: skip
NUMBER_KEYS = frozenset({"imap_port", "smtp_port", "poll_interval", "offline_email_delay_seconds"})
#: Settings the forms leave out: structured values edited elsewhere (the bot page) or by the API.
HIDDEN_KEYS = frozenset({"bot"})
KIND_ORDER = ("email", "webchat", "sms", "whatsapp", "telegram", "messenger", "slack", "api")

#: How to point each provider at Omnihub (shown next to the webhook URL).
SETUP_STEPS: dict[str, list[str]] = {
    "sms": [
        "In the Twilio Console open Phone Numbers → Manage → Active numbers → your number → Messaging.",
        "Under “A message comes in” choose Webhook, HTTP POST, and paste the webhook URL below.",
        "Delivery receipts need nothing more: Omnihub asks Twilio for status callbacks on every reply.",
    ],
    "telegram": [
        "Create a bot with @BotFather and paste its token here; choose any long random secret token.",
        'Register the webhook: curl "https://api.telegram.org/bot<token>/setWebhook" '
        "-d url=<webhook URL> -d secret_token=<secret token>.",
    ],
    "slack": [
        "Create a Slack app (api.slack.com/apps); under Event Subscriptions paste the webhook URL as Request URL.",
        "Subscribe to the bot events message.channels and message.im, install the app, and paste its "
        "Bot User OAuth token and Signing secret here.",
    ],
    "whatsapp": [
        "In the Meta App Dashboard open WhatsApp → Configuration and set the Callback URL to the webhook URL.",
        "Use the same Verify token as here, and subscribe to the messages field.",
        "Free-form replies are only delivered within 24 hours of the customer's last message.",
    ],
    "messenger": [
        "In the Meta App Dashboard open Messenger → Settings, add the webhook URL and the Verify token.",
        "Subscribe the page to messages, message_deliveries and message_reads.",
    ],
    "email": [
        "Omnihub reads new mail over IMAP and answers over SMTP with the accounts below.",
        "Mail can also be pushed: POST the raw message to the webhook URL with "
        "“Authorization: Bearer <webhook token>”, or pipe it to omnihub ingest-email --inbox <id>.",
    ],
    "webchat": [
        "Paste the snippet below just before </body> on every page of your site.",
        "Logged-in customers: pass identifier and identifier_hash = HMAC-SHA256(HMAC secret, identifier).",
    ],
    "api": [
        "POST JSON {contact: {identifier, name?, email?, phone?}, text, external_id} to the webhook URL.",
        "Sign the raw body: X-Omnihub-Signature: sha256=<hex HMAC-SHA256 of the body with the HMAC secret>.",
        "Replies are POSTed, signed the same way, to the callback URL.",
    ],
}
SHOPIFY_STEPS = [
    "In the Shopify admin open Settings → Notifications → Webhooks and create webhooks (format JSON) for "
    "Order creation, Order update, Fulfillment creation and Fulfillment update, all to the webhook URL below.",
    "Copy the signing secret Shopify shows under the webhook list into “Webhook secret”.",
    "Orders are linked to customers by email and phone; they appear in the console's customer sidebar.",
]


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin pages are for admins only."""
    if getattr(connection.user, "role", None) != "admin":
        raise PermissionDeniedException("Only admins can open the admin pages.")


def _back(path: str, **params: str) -> Redirect:
    return Redirect(path + ("?" + urlencode(params) if params else ""), status_code=303)


async def _admin_context(request: Request[Agent, Any, Any], uow: UnitOfWork, page: str) -> dict[str, Any]:
    context = await shell_context(request, uow, "admin")
    notice = request.query_params.get("saved")
    return {**context, "page": page, "lq": ListQuery(), "notice": notice}


# --- inboxes -------------------------------------------------------------------------------------


def field_specs(spec: SettingsSpec) -> list[dict[str, Any]]:
    """The form fields of an inbox kind: required first, then optional; secrets as password fields."""
    fields = []
    for key in [*sorted(spec.required), *sorted(spec.optional - spec.required)]:
        if key in HIDDEN_KEYS:
            continue
        kind = (
            "secret"
            if key in spec.secrets
            else "bool"
            if key in BOOLEAN_KEYS
            else "number"
            if key in NUMBER_KEYS
            else "text"
        )
        fields.append({"key": key, "label": key.replace("_", " ").capitalize(), "kind": kind,
                       "required": key in spec.required})  # fmt: skip
    return fields


def settings_from_form(form: Any, spec: SettingsSpec, *, editing: bool) -> dict[str, Any]:
    """Typed settings from `s.<key>` form fields; blank secrets keep their value when editing."""
    settings: dict[str, Any] = {}
    for field in field_specs(spec):
        key = field["key"]
        raw = str(form.get(f"s.{key}") or "").strip()
        if field["kind"] == "bool":
            settings[key] = raw in ("1", "true", "on")
        elif field["kind"] == "secret":
            if raw:
                settings[key] = raw
        elif field["kind"] == "number" and raw:
            settings[key] = int(raw) if raw.isdigit() else raw
        elif raw or (editing and not field["required"]):
            settings[key] = raw
    return {k: v for k, v in settings.items() if not (v == "" and not editing)}


def _member_ids(form: Any) -> list[int]:
    return sorted({int(v) for v in (form.getall("members") if "members" in form else []) if str(v).isdigit()})


async def _inbox_rows(uow: UnitOfWork, console: ConsoleContext) -> list[dict[str, Any]]:
    inboxes = (await uow.session.exec(select(Inbox).order_by(col(Inbox.id)))).all()
    members: dict[int, list[int]] = {}
    for row in (await uow.session.exec(select(InboxMember))).all():
        members.setdefault(row.inbox_id, []).append(row.agent_id)
    return [
        {
            "inbox": i,
            "webhook_url": console.webhook_url(i.kind, i.id or 0),
            "members": sorted(members.get(i.id or 0, [])),
        }
        for i in inboxes
    ]


async def _agents(uow: UnitOfWork) -> list[Agent]:
    return list((await uow.session.exec(select(Agent).order_by(col(Agent.name)))).all())


@get("/inboxes")
async def inboxes_page(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], console: NamedDependency[ConsoleContext]
) -> Template:
    context = await _admin_context(request, uow, "inboxes")
    context.update(
        {"rows": await _inbox_rows(uow, console), "kinds": [k for k in KIND_ORDER if k in console.channel_specs]}
    )
    return Template("admin/inboxes.html", context=context)


def _inbox_form_context(console: ConsoleContext, kind: str, inbox: Inbox | None) -> dict[str, Any]:
    spec = console.channel_specs.get(kind)
    if spec is None:
        raise NotFoundException(f"unknown inbox kind {kind!r}")
    secrets_set: list[str] = sorted(console.box.open(inbox.secrets)) if inbox and inbox.secrets else []
    return {
        "kind": kind,
        "fields": field_specs(spec),
        "steps": SETUP_STEPS.get(kind, []),
        "inbox": inbox,
        "values": dict(inbox.settings) if inbox else {},
        "secrets_set": secrets_set,
        "webhook_url": console.webhook_url(kind, inbox.id) if inbox and inbox.id else None,
        "public_base": console.public_base,
    }


@get("/inboxes/new")
async def new_inbox_page(
    request: Request[Agent, Any, Any],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
    kind: FromQuery[str] = "sms",
) -> Template:
    context = await _admin_context(request, uow, "inboxes")
    context.update(_inbox_form_context(console, kind, None))
    context.update({"agents": await _agents(uow), "members": [request.user.id], "errors": [], "name": ""})
    context["kinds"] = [k for k in KIND_ORDER if k in console.channel_specs]
    return Template("admin/inbox_form.html", context=context)


@post("/inboxes")
async def create_inbox_action(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], console: NamedDependency[ConsoleContext]
) -> Response[Any]:
    form = await request.form()
    kind = str(form.get("kind") or "")
    spec = console.channel_specs.get(kind)
    if spec is None:
        raise NotFoundException(f"unknown inbox kind {kind!r}")
    settings = settings_from_form(form, spec, editing=False)
    name = str(form.get("name") or "")
    members = sorted({request.user.id or 0, *_member_ids(form)})
    try:
        inbox = await create_inbox(
            uow, kind=kind, name=name, settings=settings, spec=spec, box=console.box, member_ids=members
        )
    except InvalidSettings as exc:
        await uow.rollback()
        context = await _admin_context(request, uow, "inboxes")
        context.update(_inbox_form_context(console, kind, None))
        context.update({"agents": await _agents(uow), "members": members, "errors": exc.problems, "name": name,
                        "values": {k: v for k, v in settings.items() if k not in spec.secrets},
                        "kinds": [k for k in KIND_ORDER if k in console.channel_specs]})  # fmt: skip
        return Template("admin/inbox_form.html", context=context, status_code=422)
    await uow.commit()
    console.on_agent_changed()
    return _back(f"/console/admin/inboxes/{inbox.id}", saved="Inbox created: point the provider at the webhook URL.")


@get("/inboxes/{inbox_id:int}")
async def edit_inbox_page(
    request: Request[Agent, Any, Any],
    inbox_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Template:
    inbox = await uow.session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFoundException("inbox not found")
    context = await _admin_context(request, uow, "inboxes")
    context.update(_inbox_form_context(console, inbox.kind, inbox))
    members = (await uow.session.exec(select(InboxMember.agent_id).where(InboxMember.inbox_id == inbox_id))).all()
    context.update({"agents": await _agents(uow), "members": list(members), "errors": [], "name": inbox.name})
    return Template("admin/inbox_form.html", context=context)


@post("/inboxes/{inbox_id:int}")
async def update_inbox_action(
    request: Request[Agent, Any, Any],
    inbox_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Response[Any]:
    inbox = await uow.session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFoundException("inbox not found")
    form = await request.form()
    spec = console.channel_specs[inbox.kind]
    settings = settings_from_form(form, spec, editing=True)
    members = _member_ids(form)
    try:
        await update_inbox(uow, inbox, name=str(form.get("name") or ""), settings=settings, spec=spec, box=console.box)
    except InvalidSettings as exc:
        await uow.rollback()
        inbox = await uow.session.get(Inbox, inbox_id)
        context = await _admin_context(request, uow, "inboxes")
        context.update(_inbox_form_context(console, inbox.kind, inbox))  # type: ignore[union-attr]
        context.update({"agents": await _agents(uow), "members": members, "errors": exc.problems,
                        "name": str(form.get("name") or "")})  # fmt: skip
        return Template("admin/inbox_form.html", context=context, status_code=422)
    inbox.is_active = form.get("is_active") in ("1", "true", "on")
    uow.session.add(inbox)
    await set_members(uow, inbox_id, members)
    await uow.commit()
    console.on_inbox_changed(inbox_id)
    console.on_agent_changed()
    return _back(f"/console/admin/inboxes/{inbox_id}", saved="Inbox saved.")


# --- agents and teams ----------------------------------------------------------------------------


@get("/agents")
async def agents_page(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    context = await _admin_context(request, uow, "agents")
    memberships: dict[int, list[int]] = {}
    for row in (await uow.session.exec(select(InboxMember))).all():
        memberships.setdefault(row.agent_id, []).append(row.inbox_id)
    all_inboxes = (await uow.session.exec(select(Inbox).order_by(col(Inbox.id)))).all()
    context.update({
        "agents": await _agents(uow), "memberships": memberships, "all_inboxes": all_inboxes,
        "teams": await list_teams(uow), "error": request.query_params.get("error"),
    })  # fmt: skip
    return Template("admin/agents.html", context=context)


@post("/agents")
async def create_agent_action(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], console: NamedDependency[ConsoleContext]
) -> Redirect:
    form = await request.form()
    try:
        agent = await create_agent(
            uow.session, email=str(form.get("email") or ""), name=str(form.get("name") or ""),
            role=str(form.get("role") or "agent"), password=str(form.get("password") or ""),
        )  # fmt: skip
    except (AgentError, IntegrityError) as exc:
        await uow.rollback()
        reason = str(exc) if isinstance(exc, AgentError) else "an agent with this email already exists"
        return _back("/console/admin/agents", error=reason)
    await set_agent_inboxes(uow, agent.id or 0, _inbox_ids(form))
    await uow.commit()
    console.on_agent_changed()
    return _back("/console/admin/agents", saved=f"{agent.name} can now log in.")


def _inbox_ids(form: Any) -> list[int]:
    return sorted({int(v) for v in (form.getall("inboxes") if "inboxes" in form else []) if str(v).isdigit()})


@post("/agents/{agent_id:int}")
async def update_agent_action(
    request: Request[Agent, Any, Any],
    agent_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Redirect:
    agent = await uow.session.get(Agent, agent_id)
    if agent is None:
        raise NotFoundException("agent not found")
    form = await request.form()
    role = str(form.get("role") or agent.role)
    active = form.get("is_active") in ("1", "true", "on")
    if agent_id == request.user.id and (role != "admin" or not active):
        return _back("/console/admin/agents", error="You cannot remove your own admin access.")
    if role in ("admin", "agent"):
        agent.role = role
    agent.is_active = active
    uow.session.add(agent)
    await set_agent_inboxes(uow, agent_id, _inbox_ids(form))
    await uow.commit()
    console.on_agent_changed()
    return _back("/console/admin/agents", saved=f"{agent.name} saved.")


@post("/teams")
async def create_team_action(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Redirect:
    form = await request.form()
    members = sorted({int(v) for v in (form.getall("members") if "members" in form else []) if str(v).isdigit()})
    try:
        await create_team(uow, str(form.get("name") or ""), members)
    except TeamError as exc:
        await uow.rollback()
        return _back("/console/admin/agents", error=str(exc))
    await uow.commit()
    return _back("/console/admin/agents", saved="Team created.")


@post("/teams/{team_id:int}")
async def update_team_action(
    request: Request[Agent, Any, Any], team_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Redirect:
    form = await request.form()
    try:
        if form.get("delete"):
            await delete_team(uow, team_id)
        else:
            await set_team_members(uow, team_id, _member_ids(form))
    except TeamError as exc:
        await uow.rollback()
        return _back("/console/admin/agents", error=str(exc))
    await uow.commit()
    return _back("/console/admin/agents", saved="Team deleted." if form.get("delete") else "Team saved.")


# --- canned responses ----------------------------------------------------------------------------


@get("/canned")
async def canned_page(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    context = await _admin_context(request, uow, "canned")
    rows = (await uow.session.exec(select(CannedResponse).order_by(col(CannedResponse.short_code)))).all()
    context.update({"rows": rows, "error": request.query_params.get("error")})
    return Template("admin/canned.html", context=context)


def _canned_fields(form: Any) -> tuple[str, str, str]:
    code = str(form.get("short_code") or "").strip().lstrip("/").lower().replace(" ", "-")
    return code, str(form.get("title") or "").strip(), str(form.get("text") or "").strip()


@post("/canned")
async def create_canned_action(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Redirect:
    code, title, text = _canned_fields(await request.form())
    if not code or not text:
        return _back("/console/admin/canned", error="A saved reply needs a shortcut and a text.")
    uow.session.add(CannedResponse(short_code=code[:100], title=title[:200], text=text, created_by=request.user.id))
    try:
        await uow.commit()
    except IntegrityError:
        await uow.rollback()
        return _back("/console/admin/canned", error=f"/{code} already exists.")
    return _back("/console/admin/canned", saved=f"/{code} saved.")


@post("/canned/{canned_id:int}")
async def update_canned_action(
    request: Request[Agent, Any, Any], canned_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Redirect:
    row = await uow.session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFoundException("saved reply not found")
    form = await request.form()
    if form.get("delete"):
        await uow.session.delete(row)
        await uow.commit()
        return _back("/console/admin/canned", saved=f"/{row.short_code} deleted.")
    code, title, text = _canned_fields(form)
    if not code or not text:
        return _back("/console/admin/canned", error="A saved reply needs a shortcut and a text.")
    row.short_code, row.title, row.text = code[:100], title[:200], text
    uow.session.add(row)
    try:
        await uow.commit()
    except IntegrityError:
        await uow.rollback()
        return _back("/console/admin/canned", error=f"/{code} already exists.")
    return _back("/console/admin/canned", saved=f"/{code} saved.")


# --- bot -----------------------------------------------------------------------------------------


def _has_route(request: Request[Any, Any, Any], path: str) -> bool:
    return any(route.path == path for route in request.app.routes)


@get("/bot")
async def bot_page(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    context = await _admin_context(request, uow, "bot")
    inboxes = (await uow.session.exec(select(Inbox).order_by(col(Inbox.id)))).all()
    context.update({"bot_inboxes": inboxes, "classify_available": _has_route(request, "/api/v1/bot/classify")})
    return Template("admin/bot.html", context=context)


@post("/bot/{inbox_id:int}")
async def bot_toggle_action(
    request: Request[Agent, Any, Any],
    inbox_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Redirect:
    inbox = await uow.session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFoundException("inbox not found")
    enabled = (await request.form()).get("bot_enabled") in ("1", "true", "on")
    try:
        await update_inbox(uow, inbox, name=None, settings={"bot_enabled": enabled},
                           spec=console.channel_specs[inbox.kind], box=console.box)  # fmt: skip
    except InvalidSettings as exc:
        await uow.rollback()
        return _back("/console/admin/bot", saved=f"Could not change {inbox.name}: {exc}")
    await uow.commit()
    console.on_inbox_changed(inbox_id)
    state = "answers" if enabled else "no longer answers"
    return _back("/console/admin/bot", saved=f"The bot {state} on {inbox.name}.")


# --- integrations --------------------------------------------------------------------------------


@get("/integrations")
async def integrations_page(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], console: NamedDependency[ConsoleContext]
) -> Template:
    context = await _admin_context(request, uow, "integrations")
    rows = (await uow.session.exec(select(Integration).order_by(col(Integration.id)))).all()
    context.update({
        "rows": [{"row": r, "webhook_url": console.integration_webhook_url(r.kind, r.id or 0)} for r in rows],
        "steps": SHOPIFY_STEPS, "error": request.query_params.get("error"),
    })  # fmt: skip
    return Template("admin/integrations.html", context=context)


@post("/integrations")
async def create_integration_action(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], console: NamedDependency[ConsoleContext]
) -> Redirect:
    form = await request.form()
    spec = console.integration_specs["shopify"]
    raw = {key: str(form.get(f"s.{key}") or "").strip() for key in (*spec.required, *spec.optional)}
    settings = {k: v for k, v in raw.items() if v}
    try:
        public, secret = split_settings(spec, settings)
    except InvalidSettings as exc:
        return _back("/console/admin/integrations", error=str(exc))
    name = str(public.get("shop_domain") or "shopify")
    uow.session.add(Integration(kind="shopify", name=name, settings=public, secrets=console.box.seal(secret)))
    await uow.commit()
    return _back("/console/admin/integrations", saved=f"{name} connected: add the webhooks in Shopify.")


@get("/")
async def admin_home() -> Redirect:
    return Redirect("/console/admin/inboxes")


admin_router = Router(
    path="/console/admin",
    route_handlers=[
        admin_home, inboxes_page, new_inbox_page, create_inbox_action, edit_inbox_page, update_inbox_action,
        agents_page, create_agent_action, update_agent_action, create_team_action, update_team_action,
        canned_page, create_canned_action, update_canned_action, bot_page, bot_toggle_action,
        integrations_page, create_integration_action,
    ],
    guards=[admin_guard],
    exception_handlers=ERROR_HANDLERS,
    include_in_schema=False,
)  # fmt: skip
