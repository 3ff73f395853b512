"""Webhooks over REST, delivered to a real receiver on 127.0.0.1 that verifies every signature with
``standardwebhooks``: uploads and deletes arrive signed, failures are retried and logged, refused addresses
fail at once, sustained failure disables the webhook, and other accounts see nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from engine import Settings
from engine.webhooks.settings import WebhookSettings
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> dict[str, Any]:
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each path by a script: status codes, ``hang`` (answers
    nothing until the test ends) or ``close`` (hangs up without an answer). The last step repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[int | str]] = {}
        self.calls: list[Call] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.calls.append(Call(self.path, dict(self.headers.items()), body))
                script = receiver.scripts.get(self.path, [200])
                step = script.pop(0) if len(script) > 1 else script[0]
                if step == "hang":
                    receiver.released.wait(30)
                    self.close_connection = True
                elif step == "close":
                    self.close_connection = True
                else:
                    self.send_response(int(step))
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # a hung-up client is part of the tests
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str, *script: int | str) -> str:
        self.scripts[path] = list(script or [200])
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.thread.start()
    yield running
    running.released.set()
    running.server.shutdown()
    running.server.server_close()


def quick(settings: Settings, **changes: Any) -> Settings:
    """Short timeouts and backoff so retries happen within a test."""
    values = {"timeout_s": 0.5, "attempts": 3, "backoff_s": 0.05, "backoff_max_s": 0.2, **changes}
    settings.webhooks = WebhookSettings(**values)
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = quick(make_settings(tmp_path))
    settings.ingest.fetch_allow_private = True  # the receiver is on 127.0.0.1
    return settings


async def register(api: ApiClient, headers: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    created = await api.http.post("/v1/webhooks", headers=headers, json={"url": url, **body})
    assert created.status_code == 201, created.text
    return created.json()


async def upload(api: ApiClient, headers: dict[str, str]) -> str:
    created = await api.http.post("/v1/assets", headers=headers, files={"file": ("g.png", image_bytes(32, 24, "png"))})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def settled_log(api: ApiClient, headers: dict[str, str], webhook_id: str, **query: Any) -> dict[str, Any]:
    """The delivery log once every delivery in it has finished (each one's job, retries included)."""
    url = f"/v1/webhooks/{webhook_id}/deliveries"
    for delivery in (await api.http.get(url, headers=headers, params=query)).json()["items"]:
        assert await api.engine.jobs.wait(delivery["job_id"], 30)
    answer = await api.http.get(url, headers=headers, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_upload_and_delete_arrive_signed(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    hook = await register(api, headers, receiver.url("/hook"))
    assert hook["secret"].startswith("whsec_") and hook["enabled"] and hook["id"].startswith("wh_")
    assert hook["events"] == ["asset.ready", "asset.failed", "asset.updated", "asset.deleted", "asset.trashed",
                              "asset.restored", "job.completed", "job.failed"]
    listed = (await api.http.get("/v1/webhooks", headers=headers)).json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    asset_id = await upload(api, headers)
    await settled_log(api, headers, hook["id"])
    assert (await api.http.delete(f"/v1/assets/{asset_id}?purge=true", headers=headers)).status_code == 200
    log = await settled_log(api, headers, hook["id"])

    ready, deleted = (call.verified(hook["secret"]) for call in receiver.to("/hook"))
    assert ready["type"] == "asset.ready" and ready["data"]["asset_id"] == asset_id and ready["timestamp"]
    assert deleted["type"] == "asset.deleted" and deleted["data"] == {"asset_id": asset_id}
    assert [d["event"] for d in log["items"]] == ["asset.deleted", "asset.ready"]  # newest first
    assert all(d["status"] == "succeeded" and d["attempts"] == 1 and d["last_status_code"] == 200
               and d["last_error"] is None for d in log["items"])
    assert [c.headers["webhook-id"] for c in receiver.to("/hook")] == [d["id"] for d in reversed(log["items"])]
    assert receiver.to("/hook")[0].headers["content-type"] == "application/json"


async def test_only_the_events_asked_for_are_delivered(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    hook = await register(api, headers, receiver.url("/deleted-only"), events=["asset.deleted"])
    assert hook["events"] == ["asset.deleted"]
    asset_id = await upload(api, headers)
    await api.http.delete(f"/v1/assets/{asset_id}", headers=headers)  # to the trash: asset.trashed, not deleted
    await api.http.delete(f"/v1/assets/{asset_id}?purge=true", headers=headers)
    log = await settled_log(api, headers, hook["id"])
    assert [d["event"] for d in log["items"]] == ["asset.deleted"]
    assert [c.verified(hook["secret"])["type"] for c in receiver.to("/deleted-only")] == ["asset.deleted"]


async def test_a_receiver_answering_500_is_tried_again(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    hook = await register(api, headers, receiver.url("/flaky", 500, 200), secret=secret)
    assert hook["secret"] == secret
    await upload(api, headers)
    (delivery,) = (await settled_log(api, headers, hook["id"]))["items"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2 and delivery["last_status_code"] == 200
    first, second = receiver.to("/flaky")
    assert first.verified(secret) == second.verified(secret)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["id"]
    job = (await api.http.get(f"/v1/jobs/{delivery['job_id']}", headers=headers)).json()
    assert job["kind"] == "webhook.deliver" and job["status"] == "ready" and job["attempts"] == 2


async def test_a_receiver_that_never_answers_fails_after_every_try(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    hanging = await register(api, headers, receiver.url("/hang", "hang"))
    hanging_up = await register(api, headers, receiver.url("/close", "close"))
    erroring = await register(api, headers, receiver.url("/error", 503))
    await upload(api, headers)
    for hook, error in ((hanging, "did not answer within 0.5 s"), (hanging_up, "connection failed"),
                        (erroring, "answered HTTP 503")):
        (delivery,) = (await settled_log(api, headers, hook["id"]))["items"]
        assert delivery["status"] == "failed" and delivery["attempts"] == 3, delivery
        assert error in delivery["last_error"]
    assert len(receiver.to("/hang")) == len(receiver.to("/close")) == len(receiver.to("/error")) == 3
    (failed,) = (await settled_log(api, headers, erroring["id"]))["items"]
    assert failed["last_status_code"] == 503
    job = (await api.http.get(f"/v1/jobs/{failed['job_id']}", headers=headers)).json()
    assert job["status"] == "failed" and "HTTP 503" in job["error"]


async def test_sustained_failure_disables_the_webhook_and_a_success_resets_the_streak(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = quick(make_settings(tmp_path), attempts=1, disable_after=2)
    settings.ingest.fetch_allow_private = True
    async with app_client(settings) as api:
        headers = await api.account()
        hook = await register(api, headers, receiver.url("/down", 500, 200, 500, 500))
        streaks = []
        for _ in range(4):
            await upload(api, headers)
            await settled_log(api, headers, hook["id"])
            streaks.append((await api.http.get("/v1/webhooks", headers=headers)).json()[0]["failure_streak"])
        assert streaks == [1, 0, 1, 2]
        (listed,) = (await api.http.get("/v1/webhooks", headers=headers)).json()
        assert listed["enabled"] is False
        assert "2 deliveries in a row failed" in listed["disabled_reason"] and "HTTP 500" in listed["disabled_reason"]
        await upload(api, headers)  # a disabled webhook gets nothing
        log = await settled_log(api, headers, hook["id"])
        assert len(log["items"]) == 4 and len(receiver.to("/down")) == 4


async def test_a_private_address_is_refused_at_delivery_when_not_allowed(tmp_path: Path, receiver: Receiver) -> None:
    settings = quick(make_settings(tmp_path))
    settings.ingest.fetch_allowed_ports = [80, 443, receiver.server.server_address[1]]  # refused for its address
    async with app_client(settings) as api:
        headers = await api.account()
        hook = await register(api, headers, receiver.url("/private"))
        await upload(api, headers)
        (delivery,) = (await settled_log(api, headers, hook["id"]))["items"]
        assert delivery["status"] == "failed" and delivery["attempts"] == 1  # not worth trying again
        assert "address not allowed" in delivery["last_error"]
        assert "127.0.0.1" not in delivery["last_error"], "the resolved address stays in the server log"
        tested = (await api.http.post("/v1/webhooks/test", headers=headers, json={"url": receiver.url("/t")})).json()
        assert tested["ok"] is False and "address not allowed" in tested["error"]
        assert receiver.calls == []


async def test_the_test_route_sends_one_signed_event(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/webhooks/test", headers=headers, json={"url": receiver.url("/try")})
    assert answer.status_code == 200, answer.text
    tested = answer.json()
    assert tested["ok"] is True and tested["status_code"] == 200 and tested["error"] is None
    (call,) = receiver.to("/try")
    event = call.verified(tested["secret"])
    assert event["type"] == "webhook.test" and call.headers["webhook-id"] == tested["message_id"]

    secret = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
    failing = (await api.http.post("/v1/webhooks/test", headers=headers,
                                   json={"url": receiver.url("/broken", 500), "secret": secret})).json()
    assert failing["ok"] is False and failing["status_code"] == 500 and failing["secret"] is None
    assert receiver.to("/broken")[0].verified(secret)["type"] == "webhook.test"
    assert (await api.http.post("/v1/webhooks/test", json={"url": receiver.url("/x")})).status_code == 401


async def test_the_delivery_log_is_paged_newest_first(api: ApiClient, receiver: Receiver) -> None:
    headers = await api.account()
    hook = await register(api, headers, receiver.url("/paged"), events=["asset.ready"])
    assets = [await upload(api, headers) for _ in range(3)]
    first = await settled_log(api, headers, hook["id"], limit=2)
    assert [d["payload"]["data"]["asset_id"] for d in first["items"]] == assets[:0:-1]
    rest = await settled_log(api, headers, hook["id"], limit=2, before=first["next_before"])
    assert [d["payload"]["data"]["asset_id"] for d in rest["items"]] == assets[:1] and rest["next_before"] is None
    too_many = await api.http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=headers, params={"limit": 101})
    assert too_many.status_code == 400
    unknown = await api.http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=headers, params={"before": "msg_x"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "delivery_cursor_invalid"


async def test_other_accounts_see_nothing(api: ApiClient, receiver: Receiver) -> None:
    headers, other = await api.account("one"), await api.account("other")
    hook = await register(api, headers, receiver.url("/mine"))
    assert (await api.http.get("/v1/webhooks", headers=other)).json() == []
    for method, path in (("DELETE", f"/v1/webhooks/{hook['id']}"), ("GET", f"/v1/webhooks/{hook['id']}/deliveries"),
                         ("DELETE", "/v1/webhooks/wh_nothere")):
        answer = await api.http.request(method, path, headers=other)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "webhook_not_found"
    await upload(api, other)  # another account's upload is not announced here
    assert (await settled_log(api, headers, hook["id"]))["items"] == []
    deleted = await api.http.delete(f"/v1/webhooks/{hook['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["id"] == hook["id"]
    assert (await api.http.get("/v1/webhooks", headers=headers)).json() == []
    assert (await api.http.delete(f"/v1/webhooks/{hook['id']}", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"url": "https://example.com/h", "events": ["asset.exploded"]}, "webhook_event_invalid", "asset.ready"),
        ({"url": "https://example.com/h", "events": []}, "webhook_event_invalid", "job.failed"),
        ({"url": "ftp://example.com/h"}, "url_scheme_not_allowed", "http"),
        ({"url": "file:///etc/passwd"}, "url_scheme_not_allowed", "https"),
        ({"url": "https://"}, "url_invalid", "URL"),
        ({"url": "https://example.com/" + "é" * 1000}, "url_invalid", "2048"),
        ({"url": "https://example.com/h", "secret": "my-signing-secret"}, "webhook_secret_invalid", "whsec_"),
        ({"events": ["asset.ready"]}, "invalid_request", "url"),
    ],
)
async def test_bad_registrations_are_400s_that_say_what_is_valid(
    api: ApiClient, body: dict[str, Any], code: str, words: str
) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/webhooks", headers=headers, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code and words in answer.json()["error"]["message"]
    assert (await api.http.get("/v1/webhooks", headers=headers)).json() == []


async def test_an_account_has_a_limited_number_of_webhooks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.webhooks = WebhookSettings(max_per_account=2)
    async with app_client(settings) as api:
        headers = await api.account()
        for n in range(2):
            await register(api, headers, f"https://example.com/{n}")
        third = await api.http.post("/v1/webhooks", headers=headers, json={"url": "https://example.com/3"})
        assert third.status_code == 409 and third.json()["error"]["code"] == "webhook_limit_reached"

