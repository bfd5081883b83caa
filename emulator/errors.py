"""Webex-shaped errors: ``{message, errors: [{description}], trackingId}`` with the right status."""

from __future__ import annotations

from flask import g, jsonify


class WebexError(Exception):
    """Raise from any handler to answer the way Webex answers a failed call."""

    def __init__(self, status: int, message: str, *, description: str | None = None,
                 error_code: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.description = description or message
        self.error_code = error_code
        self.retry_after = retry_after


def error_response(error: WebexError):
    detail: dict[str, str | int] = {"description": error.description}
    if error.error_code is not None:
        detail["errorCode"] = error.error_code
    body = {"message": error.message, "errors": [detail], "trackingId": g.get("tracking_id", "")}
    response = jsonify(body)
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def bad_request(message: str) -> WebexError:
    return WebexError(400, message)


def not_found(message: str = "The requested resource could not be found.") -> WebexError:
    return WebexError(404, message)


def forbidden(message: str = "The server understood the request, but refused to fulfill it because "
                              "the access token is missing required scopes or the user is missing "
                              "required roles or licenses.") -> WebexError:
    return WebexError(403, message)
