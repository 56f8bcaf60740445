"""Errors a user can cause, raised by the service's functions (API, CLI and workers alike):
each a status, a stable code and a sentence in Chinese and English (a ``grader.i18n`` message).
``api.errors`` renders them as HTTP responses in the caller's language."""

from __future__ import annotations

from grader.i18n import Message


class ServiceError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: Message, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code or self.code
        self.headers = headers or {}


class BadRequest(ServiceError):
    status_code, code = 400, "bad_request"


class Unauthorized(ServiceError):
    status_code, code = 401, "unauthorized"

    def __init__(self, message: Message):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status_code, code = 403, "forbidden"


class NotFound(ServiceError):
    status_code, code = 404, "not_found"


class Conflict(ServiceError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(ServiceError):
    status_code, code = 413, "file_too_large"


class UnsupportedFileType(ServiceError):
    status_code, code = 415, "unsupported_file_type"


class InvalidSubmission(ServiceError):
    status_code, code = 422, "invalid_submission"


class TooManyAttempts(ServiceError):
    status_code, code = 429, "attempt_limit"


class TooManyRequests(ServiceError):
    status_code, code = 429, "too_many_requests"
