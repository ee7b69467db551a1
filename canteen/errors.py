"""Domain errors raised by services; the API, pages and CLI each render them their own way."""


class CanteenError(Exception):
    status_code = 400

    def __init__(self, reason: str, field: str | None = None, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.params = params


class InvalidInput(CanteenError):
    status_code = 422


class Conflict(CanteenError):
    status_code = 409


class NotFound(CanteenError):
    status_code = 404


class Forbidden(CanteenError):
    status_code = 403


class Unauthorized(CanteenError):
    status_code = 401


class TooManyAttempts(CanteenError):
    status_code = 429


class PayloadTooLarge(CanteenError):
    status_code = 413
