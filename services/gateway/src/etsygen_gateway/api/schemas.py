"""Request and response bodies of the API that are not read views (msgspec Structs, so Litestar validates
them and documents them in the OpenAPI schema). Unknown fields are ignored (a tolerant reader), so clients
may send fields a later version understands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from etsygen_common.contracts import GenerationOptions
from etsygen_gateway.domain.accounts import (
    EMAIL_PATTERN,
    MAX_PASSWORD_LENGTH,
    MIN_DISTINCT_CHARACTERS,
    MIN_PASSWORD_LENGTH,
    VARIED_PATTERN,
    Role,
    Scope,
)
from etsygen_gateway.domain.jobs import MAX_KEYWORD_LENGTH, MAX_KEYWORDS
from etsygen_gateway.domain.text import LABEL
from etsygen_gateway.domain.views import UserView

# The constraints below are the server's checks themselves: msgspec enforces them on every request, and the
# OpenAPI document states them (api.openapi copies what Litestar's generator leaves out, such as the
# constraints of list items and ``format``).
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=EMAIL_PATTERN,
        description="An email address (compared case-insensitively)",
        extra_json_schema={"format": "email"},
    ),
]
SignInEmail = Annotated[
    str,
    msgspec.Meta(min_length=3, max_length=320, description="The email address the account was created with"),
]
"""Not held to today's address rule: an account made under an older one can still sign in (a wrong address
is a 401, as a wrong password is)."""
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        pattern=VARIED_PATTERN,
        description=(
            f"At least {MIN_PASSWORD_LENGTH} characters, {MIN_DISTINCT_CHARACTERS} of them different;"
            " not the email address"
        ),
    ),
]
Keyword = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_KEYWORD_LENGTH,
        pattern=LABEL,
        description="Not blank, no control characters; runs of whitespace count as one space",
    ),
]
Marketplace = Literal["etsy"]
MAX_ID: Final = 2**53
"""The largest numeric id the API takes: the largest integer a JSON client reads exactly, which the OpenAPI
document states exactly too (a larger bound is printed as a rounded float)."""


class SignupRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Create an account; ``invitation`` is required when sign-up is by invitation."""

    email: Email
    password: NewPassword
    invitation: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Email and password."""

    email: SignInEmail
    password: Password


class LoginResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A session was opened (its token is in an HttpOnly cookie); send ``csrf_token`` as ``X-CSRF-Token``
    with every unsafe request."""

    user: UserView
    csrf_token: str
    expires_at: datetime


class SetupRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Create the first admin with the one-time setup link's token."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Email
    password: NewPassword


class SetupLinkStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A setup link that can still create the first admin, and until when."""

    expires_at: datetime


class Me(msgspec.Struct, frozen=True, kw_only=True):
    """The caller, how they authenticated and what they may do."""

    user_id: str
    email: str
    role: str
    method: str
    scopes: list[str]
    api_key_id: str | None = None


class ApiKeyCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A new API key's name, scopes and optional lifetime."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=LABEL)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=4)]
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class InvitationCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Invite someone by email with a role."""

    email: Email
    role: Role = "viewer"


class InvitationCreated(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation; ``token`` is shown once and goes into the sign-up request."""

    token: str
    email: str
    role: str
    expires_at: datetime


class JobCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A research job: keywords to scrape, score and (optionally) generate concepts for."""

    keywords: Annotated[list[Keyword], msgspec.Meta(min_length=1, max_length=MAX_KEYWORDS)]
    """Keywords differing only in case or spacing are merged (the first spelling is kept)."""
    marketplace: Marketplace = "etsy"
    listing_budget: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    generation: GenerationOptions = msgspec.field(default_factory=GenerationOptions)


class PublishRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Which of the seller's Etsy shops gets the draft listing."""

    shop_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
