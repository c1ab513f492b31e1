"""Etsy draft listings: OAuth 2 token refresh and createDraftListing (form-urlencoded, arrays repeated).

Drafts are free; publishing costs the seller money, so nothing here ever activates a listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import msgspec


class DraftError(Exception):
    """Etsy refused or failed a draft call; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Token(msgspec.Struct, frozen=True, kw_only=True):
    """An OAuth access token and when it expires."""

    access_token: str
    refresh_token: str
    expires_at: datetime


class _TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int


class _Listing(msgspec.Struct, kw_only=True):
    listing_id: int
    state: str
    url: str | None = None


def encode_form(fields: Mapping[str, str | int | float | Sequence[str]]) -> str:
    """Form-urlencode ``fields`` with list values as repeated keys (Etsy's array convention)."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs)


class EtsyDraftClient:
    """The two Etsy calls publishing needs."""

    def __init__(self, api_key: str, *, base_url: str, http: httpx.AsyncClient | None = None) -> None:
        self._api_key = api_key
        self._keystring = api_key.split(":", 1)[0]
        self._http = http or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=20.0)
        self._owns = http is None

    async def aclose(self) -> None:
        """Close the HTTP pool this client owns."""
        if self._owns:
            await self._http.aclose()

    async def refresh(self, refresh_token: str) -> Token:
        """Exchange a refresh token for a new access token (``POST /v3/public/oauth/token``)."""
        response = await self._http.post(
            "/v3/public/oauth/token",
            content=encode_form(
                {"grant_type": "refresh_token", "client_id": self._keystring, "refresh_token": refresh_token}
            ),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        self._raise_for(response, "token refresh")
        body = msgspec.json.decode(response.content, type=_TokenResponse)
        return Token(
            access_token=body.access_token,
            refresh_token=body.refresh_token,
            expires_at=datetime.now(UTC) + timedelta(seconds=body.expires_in),
        )

    async def create_draft(
        self,
        *,
        shop_id: int,
        user_id: int,
        access_token: str,
        fields: Mapping[str, str | int | float | Sequence[str]],
    ) -> tuple[int, str, str | None]:
        """``createDraftListing``; returns (listing id, state, url)."""
        bearer = access_token if access_token.startswith(f"{user_id}.") else f"{user_id}.{access_token}"
        response = await self._http.post(
            f"/v3/application/shops/{shop_id}/listings",
            content=encode_form(fields),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-api-key": self._api_key,
                "authorization": f"Bearer {bearer}",
            },
        )
        self._raise_for(response, "createDraftListing")
        listing = msgspec.json.decode(response.content, type=_Listing)
        return listing.listing_id, listing.state, listing.url

    @staticmethod
    def _raise_for(response: httpx.Response, what: str) -> None:
        if response.status_code < 400:
            return
        text = response.text[:300]
        if response.status_code in (401, 403):
            raise DraftError(
                f"{what}: Etsy refused the credentials ({response.status_code}: {text}); check ETSY_API_KEY "
                "(keystring:shared_secret) and the seller's OAuth token (ETSY_SELLER_REFRESH_TOKEN)",
                retryable=False,
            )
        raise DraftError(
            f"{what}: Etsy answered {response.status_code}: {text}",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
