"""Every operation in the OpenAPI document, fed generated valid and invalid input over real HTTP: whatever
comes in, the answer is never a 5xx (bad input gets a 4xx with an error code instead)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from tests.conftest import LiveServer
from tests.factories import make_key, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    server_settings = make_settings(Path(tmp_path_factory.mktemp("fuzz")))
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
            case.validate_response(response, checks=[not_a_server_error])

        try:
            answers_without_a_server_error()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing invalid can be written for this operation
