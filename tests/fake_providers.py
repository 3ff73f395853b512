"""Fake image providers on 127.0.0.1, one uvicorn server each, speaking each provider's documented wire format.

Each fake checks the request Picsha sends (path, auth header, JSON body) and answers 400 in the provider's own
error shape when it is wrong, so a test that expects images fails on a malformed request. ``mode`` scripts
the next answers: ``ok``, ``refuse``, ``error500``, ``rate_limited``, ``slow``, ``malformed``, ``not_image``,
``huge`` and, for providers that answer result URLs, ``expired`` and ``stuck`` (never finishes). Result URLs work once (they expire).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.generation.settings import GenerateSettings
from tests.conftest import free_port
from tests.factories import image_bytes

PNG = image_bytes(64, 36, "png")
HUGE = image_bytes(400, 300, "png")  # over the pixel limit the tests set
SLOW_S = 1.5


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Fake:
    name: str
    key: str
    mode: str = "ok"
    seen: list[Seen] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    url: str = ""
    picture: bytes = PNG  # what a good answer holds

    def __post_init__(self) -> None:
        """Subclasses keep their own per-request state here."""

    def reset(self) -> None:
        self.mode = "ok"
        self.seen.clear()
        self.files.clear()

    async def record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        return body

    def posts(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == "POST"]

    async def scripted(self) -> Response | None:
        """The answer every endpoint gives in a failing mode, before its own work."""
        if self.mode == "slow":
            await asyncio.sleep(SLOW_S)
        if self.mode == "error500":
            return JSONResponse({"error": {"message": "The server had an error"}}, status_code=500)
        if self.mode == "rate_limited":
            return JSONResponse({"error": {"message": "Rate limit reached"}}, status_code=429)
        if self.mode == "malformed":
            return Response(b"{\"data\": [", media_type="application/json")
        return None

    def image(self) -> bytes:
        return {"not_image": b"<html>not an image</html>", "huge": HUGE}.get(self.mode, self.picture)

    def file_url(self) -> str:
        token = uuid.uuid4().hex
        self.files[token] = self.image()
        return f"{self.url}/files/{token}.png"

    async def serve_file(self, request: Request) -> Response:
        token = request.path_params["token"]
        self.seen.append(Seen("GET", request.url.path, dict(request.headers), None))
        data = self.files.pop(token, None)  # one fetch: then it has expired
        if data is None or self.mode == "expired":
            return Response(b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                            status_code=403, media_type="application/xml")
        kind = "text/html" if data.startswith(b"<html") else "image/png"
        return Response(data, media_type=kind)

    def routes(self) -> list[Route]:
        return [Route("/files/{token}.png", self.serve_file)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FakeOpenAI(Fake):
    SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
    FIELDS = {"model", "prompt", "n", "size", "quality", "background", "output_format"}

    def _error(self, message: str, code: str | None, status: int = 400, kind: str = "invalid_request_error") -> Response:
        return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)

    async def generations(self, request: Request) -> Response:
        body = await self.record(request)
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return self._error("Incorrect API key provided.", "invalid_api_key", 401)
        if not isinstance(body, dict) or set(body) - self.FIELDS or not body.get("prompt"):
            return self._error(f"Unknown or missing parameters: {sorted(body or {})}", "unknown_parameter")
        if body["size"] not in self.SIZES or not 1 <= body["n"] <= 10 or body["model"] != "gpt-image-1-mini":
            return self._error("Invalid size, n or model.", "invalid_value")
        if (failing := await self.scripted()) is not None:
            return failing
        if self.mode == "refuse":
            return self._error("Your request was rejected as a result of our safety system.", "moderation_blocked",
                               kind="image_generation_user_error")
        return JSONResponse({
            "created": int(time.time()), "background": "opaque", "output_format": body["output_format"],
            "quality": body["quality"], "size": body["size"],
            "data": [{"b64_json": _b64(self.image())} for _ in range(body["n"])],
            "usage": {"input_tokens": 50, "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
                      "output_tokens": 1000 * body["n"], "total_tokens": 50 + 1000 * body["n"]},
        })

    def routes(self) -> list[Route]:
        return [Route("/v1/images/generations", self.generations, methods=["POST"]), *super().routes()]


class FakeImagen(Fake):
    MODEL = "imagen-4.0-fast-generate-001"

    def __post_init__(self) -> None:
        self.running = 0
        self.peak = 0  # most predictions answered at once
        self.delay_s = 0.05  # long enough for parallel calls to overlap

    async def predict(self, request: Request) -> Response:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delay_s)
            return await self._predict(request)
        finally:
            self.running -= 1

    def _error(self, message: str, status: int = 400, text: str = "INVALID_ARGUMENT") -> Response:
        return JSONResponse({"error": {"code": status, "message": message, "status": text}}, status_code=status)

    async def _predict(self, request: Request) -> Response:
        body = await self.record(request)
        if request.path_params["action"] != f"{self.MODEL}:predict":
            return self._error("Not found", 404, "NOT_FOUND")
        if request.headers.get("x-goog-api-key") != self.key:
            return self._error("API key not valid. Please pass a valid API key.")
        instances = body.get("instances") if isinstance(body, dict) else None
        parameters = body.get("parameters") if isinstance(body, dict) else None
        if (not isinstance(instances, list) or len(instances) != 1 or not instances[0].get("prompt")
                or not isinstance(parameters, dict) or parameters.get("aspectRatio") not in ("1:1", "3:4", "4:3", "9:16", "16:9")
                or not 1 <= parameters.get("sampleCount", 0) <= 4):
            return self._error("Invalid JSON payload received.")
        if (failing := await self.scripted()) is not None:
            return failing
        if self.mode == "refuse":
            return JSONResponse({"predictions": [{"raiFilteredReason": "Your current safety filter threshold "
                                                  "prohibited one or more of the generated images."}]})
        count = parameters["sampleCount"]
        return JSONResponse({"predictions": [{"bytesBase64Encoded": _b64(self.image()), "mimeType": "image/png"}
                                             for _ in range(count)]})

    def routes(self) -> list[Route]:
        return [Route("/v1beta/models/{action}", self.predict, methods=["POST"]), *super().routes()]


class FakeFal(Fake):
    MODEL = "fal-ai/flux/schnell"
    SIZES = ("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")

    def __post_init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Key {self.key}":
            return JSONResponse({"detail": "Invalid API key"}, status_code=401)
        return None

    async def submit(self, request: Request) -> Response:
        body = await self.record(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        allowed = {"prompt", "image_size", "num_images", "seed", "enable_safety_checker", "output_format"}
        if (not isinstance(body, dict) or set(body) - allowed or not body.get("prompt")
                or body.get("image_size") not in self.SIZES or not 1 <= body.get("num_images", 0) <= 4):
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "invalid input", "type": "value_error"}]},
                                status_code=422)
        if (failing := await self.scripted()) is not None:
            return failing
        request_id = str(uuid.uuid4())
        self.jobs[request_id] = {"body": body, "polls": 0}
        base = f"{self.url}/fal-ai/flux/requests/{request_id}"
        return JSONResponse({"request_id": request_id, "response_url": base, "status_url": f"{base}/status",
                             "cancel_url": f"{base}/cancel", "queue_position": 0})

    async def status(self, request: Request) -> Response:
        await self.record(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        job = self.jobs.get(request.path_params["request_id"])
        if job is None:
            return JSONResponse({"detail": "Request not found"}, status_code=404)
        job["polls"] += 1
        if self.mode == "stuck" or job["polls"] < 3:
            state = "IN_QUEUE" if job["polls"] == 1 else "IN_PROGRESS"
            return JSONResponse({"status": state, "queue_position": 0}, status_code=202)
        return JSONResponse({"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 0.4}})

    async def result(self, request: Request) -> Response:
        await self.record(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        job = self.jobs.get(request.path_params["request_id"])
        if job is None:
            return JSONResponse({"detail": "Request not found"}, status_code=404)
        body = job["body"]
        if self.mode == "refuse":
            return JSONResponse({"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed "
                                             "because it contained material flagged by a content checker.",
                                             "type": "content_policy_violation"}]}, status_code=422)
        images = [{"url": self.file_url(), "width": 64, "height": 36, "content_type": "image/png"}
                  for _ in range(body["num_images"])]
        return JSONResponse({"images": images, "timings": {"inference": 0.4}, "seed": body["seed"],
                             "has_nsfw_concepts": [False] * len(images), "prompt": body["prompt"]})

    async def cancel(self, request: Request) -> Response:
        await self.record(request)
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    def routes(self) -> list[Route]:
        return [
            Route("/fal-ai/flux/schnell", self.submit, methods=["POST"]),
            Route("/fal-ai/flux/requests/{request_id}/status", self.status, methods=["GET"]),
            Route("/fal-ai/flux/requests/{request_id}/cancel", self.cancel, methods=["PUT"]),
            Route("/fal-ai/flux/requests/{request_id}", self.result, methods=["GET"]),
            *super().routes(),
        ]


class FakeReplicate(Fake):
    MODEL = "black-forest-labs/flux-schnell"
    _ids = itertools.count(1)

    def __post_init__(self) -> None:
        self.predictions: dict[str, dict[str, Any]] = {}
        self.wait = True  # False: the create answers 'starting' and the prediction is polled

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return JSONResponse({"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
                                 "status": 401}, status_code=401)
        return None

    def _shown(self, prediction: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/v1/predictions/{prediction['id']}"
        return {**prediction, "urls": {"get": base, "cancel": f"{base}/cancel", "web": "https://replicate.com/p/x"}}

    def _finish(self, prediction: dict[str, Any]) -> None:
        if self.mode == "refuse":
            prediction.update(status="failed", error="NSFW content detected. Try running it again, or try a "
                              "different prompt.")
        else:
            count = prediction["input"]["num_outputs"]
            prediction.update(status="succeeded", output=[self.file_url() for _ in range(count)])

    async def create(self, request: Request) -> Response:
        body = await self.record(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        given = body.get("input") if isinstance(body, dict) else None
        allowed = {"prompt", "num_outputs", "aspect_ratio", "seed", "output_format"}
        if (not isinstance(given, dict) or set(body) != {"input"} or set(given) - allowed or not given.get("prompt")
                or given.get("aspect_ratio") not in ("1:1", "16:9", "9:16", "4:3", "3:4")
                or not 1 <= given.get("num_outputs", 0) <= 4 or not request.headers.get("prefer", "").startswith("wait")):
            return JSONResponse({"title": "Invalid input", "detail": "input is invalid", "status": 422}, status_code=422)
        if (failing := await self.scripted()) is not None:
            return failing
        prediction = {"id": f"p{next(self._ids)}x", "model": self.MODEL, "version": "hidden", "input": given,
                      "logs": "", "output": None, "error": None, "status": "starting", "data_removed": False,
                      "created_at": "2026-12-02T05:00:00.000Z", "polls": 0}
        self.predictions[prediction["id"]] = prediction
        if self.wait:
            self._finish(prediction)
        return JSONResponse(self._shown(prediction), status_code=201)

    async def get(self, request: Request) -> Response:
        await self.record(request)
        if (denied := self._unauthorized(request)) is not None:
            return denied
        prediction = self.predictions.get(request.path_params["prediction_id"])
        if prediction is None:
            return JSONResponse({"title": "Not found", "status": 404}, status_code=404)
        prediction["polls"] += 1
        if prediction["status"] == "starting" and self.mode != "stuck":
            prediction["status"] = "processing"
        elif prediction["status"] == "processing":
            self._finish(prediction)
        return JSONResponse(self._shown(prediction))

    async def cancel(self, request: Request) -> Response:
        await self.record(request)
        prediction = self.predictions.get(request.path_params["prediction_id"], {})
        prediction["status"] = "canceled"
        return JSONResponse(self._shown(prediction) if prediction else {})

    def routes(self) -> list[Route]:
        return [
            Route("/v1/models/black-forest-labs/flux-schnell/predictions", self.create, methods=["POST"]),
            Route("/v1/predictions/{prediction_id}", self.get, methods=["GET"]),
            Route("/v1/predictions/{prediction_id}/cancel", self.cancel, methods=["POST"]),
            *super().routes(),
        ]


@dataclass
class Fakes:
    openai: FakeOpenAI
    imagen: FakeImagen
    fal: FakeFal
    replicate: FakeReplicate

    def all(self) -> list[Fake]:
        return [self.openai, self.imagen, self.fal, self.replicate]

    def reset(self) -> None:
        for fake in self.all():
            fake.reset()
        self.replicate.wait = True
        self.imagen.peak = 0

    def settings(self, **overrides: Any) -> GenerateSettings:
        """Generation settings pointing every provider at its fake, with short waits for tests."""
        quick = {"attempts": 2, "retry_wait_s": 0.0, "timeout_s": 1.0}
        polling = quick | {"poll_interval_s": 0.02, "deadline_s": 1.0}
        values: dict[str, Any] = {
            "openai": quick | {"api_key": self.openai.key, "base_url": f"{self.openai.url}/v1"},
            "imagen": quick | {"api_key": self.imagen.key, "base_url": f"{self.imagen.url}/v1beta"},
            "fal": polling | {"api_key": self.fal.key, "base_url": self.fal.url},
            "replicate": polling | {"api_key": self.replicate.key, "base_url": f"{self.replicate.url}/v1", "wait_s": 5},
        }
        return GenerateSettings.model_validate(values | overrides)


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    port = free_port()
    fake.url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(Starlette(routes=fake.routes()), host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake provider did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def fake_providers() -> Iterator[Fakes]:
    fakes = Fakes(FakeOpenAI("openai", "sk-openai-fake-0001"), FakeImagen("imagen", "gemini-fake-0002"),
                  FakeFal("fal", "fal-fake-0003"), FakeReplicate("replicate", "r8_fake_0004"))
    with serving(fakes.openai), serving(fakes.imagen), serving(fakes.fal), serving(fakes.replicate):
        yield fakes
