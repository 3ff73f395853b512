"""Every operation in the OpenAPI document, fed generated valid and invalid input over real HTTP, then a
hand-written list of malformed bodies and headers no schema describes (broken multipart, hostile numbers,
bad TUS headers) sent as raw bytes: whatever comes in, the answer is never a 5xx (bad input gets a 4xx with
an error code instead)."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from engine.generation.settings import GenerateSettings, ProviderName
from tests.conftest import LiveServer
from tests.factories import make_key, make_settings

pytestmark = pytest.mark.slow

# Answers the spec gives on purpose with a 5xx status: generation with no image provider configured is 503.
UNAVAILABLE_BY_DESIGN = {"generate_no_provider"}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    # every image provider off: a fuzzed key must never reach a real provider (generation answers 503)
    off = {name.value: {"enabled": False} for name in ProviderName}
    server_settings = make_settings(Path(tmp_path_factory.mktemp("fuzz")), generate=GenerateSettings.model_validate(off))
    key = make_key(server_settings)
    with LiveServer(server_settings) as server:
        yield server, key


def test_no_request_gets_a_server_error(fuzzed_server: tuple[LiveServer, str]) -> None:
    server, key = fuzzed_server
    api = schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=40, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_without_a_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            if response.status_code == 503 and response.json()["error"]["code"] in UNAVAILABLE_BY_DESIGN:
                return
            case.validate_response(response, checks=[not_a_server_error])

        try:
            answers_without_a_server_error()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing invalid can be written for this operation


# -- hand-written malformed requests, as raw bytes on a socket (an HTTP client would refuse to send them) ----

JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
FILE_PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n' + JPEG_HEAD
CLOSE = b"\r\n--b--\r\n"
MULTIPART = "multipart/form-data; boundary=b"
TUS_CREATE = ("POST", "/v1/upload/resumable")
HOSTILE_NUMBERS = ["²", "٣", "１", "-1", "", "1e3", "nan", "inf", "9" * 19, "9" * 5000]
HOSTILE_JSON = [b"NaN", b'{"metadata": {"a": Infinity}}', b'{"a": 1e999}', b'{"page": ' + b"9" * 5000 + b"}",
                b"[" * 100_000, b'{"metadata": ' + b"[" * 5000 + b"}", b"{", b"\xff\xfe"]


def _malformed() -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, path, headers, body): the classes of bad input the schema-driven run cannot write."""
    cases: list[tuple[str, str, dict[str, str], bytes]] = [
        ("POST", "/v1/assets", {"Content-Type": "multipart/form-data"}, FILE_PART + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": "multipart/form-data; boundary="}, FILE_PART + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": "multipart/form-data; boundary=" + "x" * 500}, FILE_PART + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": "multipart/form-data; boundary=\"é\""}, FILE_PART + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": "multipart/form-data; boundary=c"}, FILE_PART + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"--b\r\nContent Disposition form-data\r\n\r\nx" + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"--b\r\n: no name\r\n\r\nx" + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\r\n\r\nx" + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"--b\r\nX-Huge: " + b"h" * 200_000 + b"\r\n\r\nx" + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"--b\r\n" + b"X-Many: 1\r\n" * 5000 + b"\r\nx" + CLOSE),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, FILE_PART),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, FILE_PART + b"\r\n--b"),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, FILE_PART + b"\r\n--b\r\nContent-Disposition: form-da"),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b""),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART}, b"\r\n\r\n\r\n"),
        ("POST", "/v1/assets", {"Content-Type": MULTIPART},
         b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"a": NaN}\r\n' + FILE_PART + CLOSE),
        ("POST", "/v1/assets?metadata=" + "9" * 5000, {"Content-Type": "application/octet-stream", "X-Filename": "a.jpg"}, JPEG_HEAD),
        ("POST", "/v1/assets?config=%5B%5B%5B%5B", {"Content-Type": "application/octet-stream", "X-Filename": "é\x00.jpg"}, JPEG_HEAD),
        ("POST", "/v1/assets", {"Content-Type": "application/json"}, b'{"base64": "!!!!", "filename": "a.jpg"}'),
        ("POST", "/v1/assets", {"Content-Type": "application/json"}, b'{"base64": "data:,", "filename": "a.jpg"}'),
        ("GET", "/v1/assets?page=" + "9" * 40, {}, b""),
        ("GET", "/v1/assets/as_x/render?w=²&q=٣&focus=nan,inf&crop=1,2,3," + "9" * 5000, {}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Defer-Length": "²"}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": "filename !!!!,x"}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": "a " + "Y" * 100_000}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Concat": "final;" + " /x" * 1000}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Concat": "partial", "Upload-Length": "٣"}, b""),
        (*TUS_CREATE, {"Tus-Resumable": "²"}, b""),
        ("PATCH", "/v1/upload/resumable/up_x", {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Upload-Checksum": "sha1 ¡¡",
                                               "Content-Type": "application/offset+octet-stream"}, b"12345"),
    ]
    for value in HOSTILE_NUMBERS:
        cases.append((*TUS_CREATE, {"Tus-Resumable": "1.0.0", "Upload-Length": value}, b""))
        cases.append(("PATCH", "/v1/upload/resumable/up_x", {"Tus-Resumable": "1.0.0", "Upload-Offset": value,
                                                            "Content-Type": "application/offset+octet-stream"}, b"1"))
        cases.append(("POST", "/v1/assets", {"Content-Type": "application/octet-stream", "X-Filename": "a.jpg",
                                             "Content-Length": value}, JPEG_HEAD))
    for body in HOSTILE_JSON:
        for method, path in (("POST", "/v1/assets"), ("POST", "/v1/tools/upload_asset"), ("POST", "/v1/search"),
                             ("PATCH", "/v1/assets/as_x"), ("POST", "/v1/webhooks"), ("POST", "/mcp")):
            cases.append((method, path, {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, body))
    return cases


def _send(port: int, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
    """One request as raw bytes (chunked unless it sets Content-Length itself); the answer's status."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "Content-Length" not in headers:
        lines.append("Transfer-Encoding: chunked")
        payload = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        payload = body
    request = "\r\n".join(lines).encode() + b"\r\n\r\n" + payload
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].split()
    assert len(status_line) >= 2, f"no answer to {method} {path}"
    return int(status_line[1])


def test_malformed_bodies_and_headers_get_no_server_error(fuzzed_server: tuple[LiveServer, str]) -> None:
    server, key = fuzzed_server
    failures = []
    for method, path, headers, body in _malformed():
        status = _send(server.port, method, path, {"Authorization": f"Bearer {key}", **headers}, body)
        if status >= 500:
            failures.append(f"{status} {method} {path[:80]} {str(headers)[:160]} {body[:60]!r}")
    assert not failures, "\n".join(failures)
