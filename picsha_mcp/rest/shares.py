"""Share links over REST: ``/v1/shares`` for the owner, and the public side without a key: ``GET /s/{token}``
(an HTML page of the shared images, or a password form), ``POST /s/{token}`` (the form's password) and
``GET /s/{token}/download`` (a ZIP of the originals)."""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from engine import Engine
from engine.auth.scopes import Scope
from engine.errors import Forbidden, NotFound
from engine.library.models import Share, ShareCreate, ShareList
from engine.library.shares import UNLOCK_S, SharedView
from picsha_mcp.rest.access import Access, needs
from picsha_mcp.rest.body_cap import read_capped
from picsha_mcp.rest.deps import EngineDep, PrincipalDep

router = APIRouter(prefix="/v1/shares", tags=["library"])
public = APIRouter(prefix="/s", include_in_schema=False)

COOKIE = "picsha_share"
FORM_MAX = 4096
STYLE = """body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1b1b1b}
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:1rem 1.5rem;background:#fff;
border-bottom:1px solid #ddd}h1{font-size:1.2rem;margin:0}a{color:#0b57d0}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:1rem;padding:1.5rem}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:6px;overflow:hidden}
figure img{display:block;width:100%;height:200px;object-fit:cover;background:#eee}
figcaption{padding:.4rem .6rem;font-size:.85rem;overflow-wrap:anywhere}
form{max-width:22rem;margin:4rem auto;background:#fff;padding:1.5rem;border:1px solid #ddd;border-radius:6px}
label,input,button{display:block;width:100%;box-sizing:border-box;font-size:1rem}input,button{margin-top:.5rem;
padding:.5rem}button{background:#0b57d0;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#a50e0e}"""


# -- the owner's routes -------------------------------------------------------------------------------------------

@router.post("", status_code=201, response_model=Share)
@needs(Scope.ASSETS_WRITE)
async def create_share(given: ShareCreate, engine: EngineDep, principal: PrincipalDep) -> Share:
    """A public link to one asset or a collection; optional expiry (days) and password. Anyone with the link
    sees the images (a collection's as they are when opened) and can download them as a ZIP."""
    return await engine.library.shares.create(principal, given)


@router.get("", response_model=ShareList)
@needs(Scope.ASSETS_READ)
async def list_shares(engine: EngineDep, principal: PrincipalDep) -> ShareList:
    return await engine.library.shares.list(principal)


@router.delete("/{share_id}", status_code=204)
@needs(Scope.ASSETS_WRITE)
async def delete_share(share_id: str, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Revoke the link at once."""
    await engine.library.shares.delete(principal, share_id)
    return Response(status_code=204)


# -- the public side ----------------------------------------------------------------------------------------------

def _page(engine: Engine, title: str, body: str, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(engine.settings.public_url))
    csp = (f"default-src 'none'; img-src 'self' {origin}; style-src 'nonce-{nonce}'; form-action 'self'; "
           "base-uri 'none'; frame-ancestors 'none'")
    document = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
                f'content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
                f"<title>{html.escape(title)}</title><style nonce=\"{nonce}\">{STYLE}</style></head>"
                f"<body>{body}</body></html>")
    headers = {"Content-Security-Policy": csp, "Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store",
               "X-Robots-Tag": "noindex", "X-Frame-Options": "DENY"}
    return HTMLResponse(document, status_code=status, headers=headers)


def _gone(engine: Engine) -> HTMLResponse:
    return _page(engine, "Link not available", "<form><h1>This link is not available</h1><p>It was revoked, has "
                 "expired, or never existed. Ask whoever shared it for a new one.</p></form>", status=404)


def _password_form(engine: Engine, token: str, wrong: bool = False) -> HTMLResponse:
    error = '<p class="error" role="alert">That password is not right.</p>' if wrong else ""
    body = (f'<form method="post" action="/s/{html.escape(token)}"><h1>This link is protected</h1>{error}'
            '<label for="password">Password</label><input id="password" name="password" type="password" required '
            'autocomplete="current-password" autofocus><button type="submit">Open</button></form>')
    return _page(engine, "Password needed", body, status=403 if wrong else 401)


def _gallery(engine: Engine, token: str, view: SharedView) -> HTMLResponse:
    figures = []
    for asset in view.assets:
        thumb, large = engine.library.shares.picture_urls(asset)
        name = html.escape(asset.filename)
        alt = html.escape(asset.alt_text or asset.ai.caption or asset.filename)
        image = f'<img src="{html.escape(thumb)}" alt="{alt}" loading="lazy">' if thumb else ""
        figures.append(f'<figure><a href="{html.escape(large)}">{image}</a><figcaption>{name}</figcaption></figure>')
    expiry = (f" · until {view.share.expires_at:%Y-%m-%d %H:%M} UTC" if view.share.expires_at else "")
    count = f"{len(view.assets)} file{'s' if len(view.assets) != 1 else ''}{expiry}"
    body = (f"<header><div><h1>{html.escape(view.title)}</h1><small>{count}</small></div>"
            f'<a href="/s/{html.escape(token)}/download" download>Download all (ZIP)</a></header>'
            f"<main>{''.join(figures) or '<p>Nothing here yet.</p>'}</main>")
    return _page(engine, view.title, body)


@public.get("/{token}")
@needs(Access.PUBLIC)
async def shared_page(token: str, request: Request) -> Response:
    engine: Engine = request.app.state.engine
    cookie = request.cookies.get(COOKIE)
    try:
        if await engine.library.shares.needs_password(token, cookie):
            return _password_form(engine, token)
        return _gallery(engine, token, await engine.library.shares.view(token, cookie))
    except NotFound:
        return _gone(engine)


@public.post("/{token}")
@needs(Access.PUBLIC)
async def unlock_share(token: str, request: Request) -> Response:
    engine: Engine = request.app.state.engine
    fields = parse_qs((await read_capped(request.stream(), FORM_MAX)).decode("utf-8", "replace"))
    try:
        cookie = await engine.library.shares.unlock(token, (fields.get("password") or [""])[0])
    except NotFound:
        return _gone(engine)
    except Forbidden:
        return _password_form(engine, token, wrong=True)
    answer = RedirectResponse(f"/s/{token}", status_code=303)
    if cookie:
        answer.set_cookie(COOKIE, cookie, max_age=UNLOCK_S, path=f"/s/{token}", httponly=True, samesite="strict",
                          secure=engine.settings.public_url.startswith("https://"))
    return answer


@public.get("/{token}/download")
@needs(Access.PUBLIC)
async def shared_download(token: str, request: Request) -> Response:
    engine: Engine = request.app.state.engine
    try:
        view = await engine.library.shares.view(token, request.cookies.get(COOKIE))
    except NotFound:
        return _gone(engine)
    except Forbidden:
        return _password_form(engine, token)
    name = "".join(c for c in view.title if c.isalnum() or c in "-_ ")[:60].strip() or "shared"
    body = engine.library.download(view.owner, [asset.id for asset in view.assets])
    return StreamingResponse(body, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}.zip"', "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer"})
