"""Typed failures of the Etsy client; each message says what happened and, where possible, what to do."""

from __future__ import annotations

AUTH_FIX_HINT = (
    "check that ETSY_API_KEY is '<keystring>:<shared_secret>' (both halves from your app's page at "
    "https://www.etsy.com/developers/your-apps; Etsy requires the shared secret since February 2026)"
)


class EtsyError(Exception):
    """Base of every error the Etsy client raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EtsyAuthError(EtsyError):
    """401/403: the API key (or OAuth token) was refused. ``hint`` says how to fix it."""

    def __init__(self, message: str, *, status: int | None = None, hint: str = AUTH_FIX_HINT) -> None:
        super().__init__(f"{message}; {hint}", status=status)
        self.hint = hint


class EtsyNotFound(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """404: the listing, shop or route does not exist."""


class EtsyInvalidRequest(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """400 (or another 4xx): Etsy rejected the request; the message is Etsy's own ``error`` text."""


class EtsyRateLimited(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """429 whose ``retry-after`` is longer than the client is willing to wait."""

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(message or f"Etsy rate limit hit; retry after {retry_after:g} s", status=429)
        self.retry_after = retry_after


class EtsyDailyBudgetExhausted(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """The app's daily call budget is spent, or a job's planned calls do not fit what remains today."""

    def __init__(
        self,
        message: str,
        *,
        needed: int | None = None,
        remaining: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=429 if retry_after is not None else None)
        self.needed = needed
        self.remaining = remaining
        self.retry_after = retry_after


class EtsyUnavailable(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """5xx responses or timeouts persisted through every retry."""


class EtsyMalformedResponse(EtsyError):  # noqa: N818 - names read as outcomes, as the API spec says
    """A 2xx body that does not decode into the Struct the endpoint's schema promises."""
