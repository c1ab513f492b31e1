"""API-key use cases: issue a key scoped at most to its owner's rights, list and revoke them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from etsygen_gateway.adapters import accounts as repo
from etsygen_gateway.adapters.jobs import as_uuid
from etsygen_gateway.domain.accounts import (
    SCOPES,
    Principal,
    Scope,
    grantable_scopes,
    issue_api_key,
)
from etsygen_gateway.domain.views import ApiKeyList, ApiKeyView
from etsygen_gateway.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from etsygen_gateway.service_layer.authentication import Authenticator


class NewApiKey(ApiKeyView, frozen=True, kw_only=True):
    """A freshly created API key; ``key`` is shown this once."""

    key: str


def key_view(key: repo.ApiKeyRecord) -> ApiKeyView:
    """The public fields of an API key."""
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=f"egk_{key.lookup}",
        scopes=key.scopes,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


async def create_api_key(
    pool: Any, principal: Principal, *, name: str, scopes: list[str], expires_in_days: int | None
) -> NewApiKey:
    """Issue an API key for the caller, scoped at most to what the caller may do.

    Raises:
        InvalidRequestError: unknown or ungrantable scopes, or a bad name.
    """
    name = name.strip()
    if not name:
        raise InvalidRequestError("name must not be blank")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidRequestError(f"unknown scopes: {', '.join(unknown)}")
    requested = cast(set[Scope], set(scopes))
    excess = grantable_scopes(principal, requested)
    if excess:
        raise ForbiddenError(f"you cannot grant scopes you do not have: {', '.join(sorted(excess))}")
    issued = issue_api_key()
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    record = await repo.insert_api_key(
        pool,
        owner_id=principal.user_id,
        name=name,
        lookup=issued.lookup,
        key_hash=issued.digest,
        scopes=sorted(requested),
        expires_at=expires_at,
    )
    view = key_view(record)
    return NewApiKey(**{f: getattr(view, f) for f in view.__struct_fields__}, key=issued.secret)


async def list_api_keys(pool: Any, principal: Principal) -> ApiKeyList:
    """The caller's keys."""
    return ApiKeyList(items=[key_view(k) for k in await repo.list_api_keys(pool, principal.user_id)])


async def revoke_api_key(pool: Any, auth: Authenticator, principal: Principal, key_id: str) -> None:
    """Revoke one of the caller's keys.

    Raises:
        NotFoundError: the caller has no such key.
    """
    if as_uuid(key_id) is None:
        raise NotFoundError("no such API key")
    lookup = await repo.revoke_api_key(pool, principal.user_id, key_id)
    if lookup is None:
        raise NotFoundError("no such API key")
    auth.forget_lookup(lookup)
