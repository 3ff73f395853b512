"""Rate limits at the REST door: what each route counts as, and the ``RateLimit-*`` headers on answers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import Scope

from engine.plans import RateState, Work
from picsha_mcp.rest.content_headers import AnswerHeaders

SCOPE_KEY = "picsha.rate"  # the request's RateState, for the headers of its answer

# Routes that cost more than one request (the rest count as one); tools are weighed by their registry cost.
COSTLY: dict[tuple[str, str], Work] = {
    ("POST", "/v1/generate"): Work.GENERATE,
    ("POST", "/v1/generate/jobs"): Work.GENERATE,
    ("POST", "/v1/generate/batch"): Work.GENERATE,
    ("POST", "/v1/scrape"): Work.SCRAPE,
    ("POST", "/v1/automation/schedules"): Work.SCRAPE,
    ("POST", "/v1/assets/{asset_id}/skills/{name}/run"): Work.ANALYSIS,
}


def work_of(request: Request) -> Work:
    route = request.scope.get("route")
    if route is None:
        return Work.REQUEST
    return COSTLY.get((request.method, getattr(route, "path", "")), Work.REQUEST)


def remember(scope: Scope, state: RateState | None) -> None:
    if state is not None:
        scope[SCOPE_KEY] = state


class RateLimitHeaders(AnswerHeaders):
    """An answer to a counted request carries ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` (seconds) and
    ``-Policy`` (IETF httpapi draft) of the tightest limit it was counted against."""

    def add(self, scope: Scope, headers: MutableHeaders) -> None:
        state: RateState | None = scope.get(SCOPE_KEY)
        if state is not None:
            for name, value in state.headers().items():
                headers[name] = value
