"""The OpenAPI document: every operation documents its errors and its authentication, and the
main schemas carry examples."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def spec(queue_and_client):
    return queue_and_client[1].get("/openapi.json").json()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


PUBLIC = {("post", "/api/v1/session"), ("delete", "/api/v1/session"), ("get", "/api/v1/invitations/{code}"),
          ("post", "/api/v1/invitations/{code}")}


def test_api_operations_need_a_bearer_token_or_the_session_and_document_401(spec):
    for path, method, operation in operations(spec):
        if path.startswith("/api/v1") and (method, path) not in PUBLIC:
            assert operation.get("security") == [{"HTTPBearer": []}, {"APIKeyCookie": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
            assert error.endswith("/ErrorPublic")


def test_schemas_have_examples(spec):
    schemas = spec["components"]["schemas"]
    for name in ("SubmissionAccepted", "SubmissionPublic", "AssignmentPublic", "PolicyIn", "ExtensionIn",
                 "WrittenScoreIn", "RegradeIn"):
        assert schemas[name].get("examples"), name


def test_submit_documents_every_refusal(spec):
    responses = spec["paths"]["/api/v1/assignments/{assignment_id}/submissions"]["post"]["responses"]
    assert {"202", "401", "403", "404", "413", "415", "422", "429"} <= set(responses)
