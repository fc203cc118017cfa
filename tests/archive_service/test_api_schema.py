"""Schemathesis against our own OpenAPI schema: generated calls to every API operation, signed in as
an archivist (the role with the most operations). No call may answer 500, and every 4xx must carry the
documented error body {"code", "message", "field"}. Bounded: a few examples per operation."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # calls, not SQL, are under test


@pytest.fixture
def api_schema(client):
    return schemathesis.openapi.from_asgi("/openapi.json", client.app).include(path_regex="^/api/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same calls on every run: a failure here is reproducible, not flaky
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_every_operation_answers_without_a_server_error(case, login):
    if case.path == "/api/auth/logout":
        return  # would end the session the other calls use
    response = case.call(headers={**(case.headers or {}), **_archivist(login)})
    case.validate_response(response, checks=[not_a_server_error])
    if 400 <= response.status_code < 500:
        body = response.json()
        assert {"code", "message", "field"} <= set(body) and body["code"] and body["message"], body


_tokens: dict[int, dict[str, str]] = {}


def _archivist(login) -> dict[str, str]:
    if id(login) not in _tokens:
        _tokens.clear()
        _tokens[id(login)] = login("archivist")
    return _tokens[id(login)]
