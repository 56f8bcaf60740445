"""HTTP routes: each validates its input, calls one service and shapes the answer."""

from api.schemas import ErrorPublic

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorPublic"}


def errors(*codes: int) -> dict:
    """OpenAPI entries for the structured errors a route can answer with."""
    return {code: {"model": ErrorPublic} for code in (401, *codes)}


def json_errors(*codes: int) -> dict:
    """The same, for routes whose success is not JSON (their errors still are)."""
    return {code: {"description": "an error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            for code in (401, *codes)}
