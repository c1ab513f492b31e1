"""Accounts: roles, API-key scopes, the authenticated principal, and the secrets users hold.

Secrets (session tokens, API keys, invitation tokens) are random and high-entropy, so a SHA-256 digest is
enough to store them: nobody can brute-force 256 random bits, and a fast hash keeps every request cheap.
Passwords are low-entropy and get argon2id instead (``adapters.passwords``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final, Literal, get_args

import msgspec

from etsygen_gateway.domain.text import whole

Role = Literal["viewer", "operator", "admin"]
Scope = Literal["read", "write", "generate", "admin"]
AuthMethod = Literal["session", "api_key"]

ROLES: Final[tuple[Role, ...]] = get_args(Role)
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)

ROLE_SCOPES: Final[dict[Role, frozenset[Scope]]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "write", "generate"}),
    "admin": frozenset({"read", "write", "generate", "admin"}),
}
"""What each role may do; an API key may do the intersection of its scopes and its owner's role."""

API_KEY_PREFIX: Final = "egk_"
_LOOKUP_CHARS: Final = 12
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# A label with "--" in its third and fourth places is reserved for IDNA ("xn--"), which host name checks
# (format: email) decode and may refuse: such domains are not admitted.
_LABEL: Final = r"(?![A-Za-z0-9]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL: Final = r"(?![A-Za-z0-9]{2}--)[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]"
EMAIL_PATTERN: Final = whole(
    # Negative look-aheads bound the two parts' lengths: generators (hypothesis) handle them, not "(?=...)".
    rf"(?![^@]{{65}}){_ATOM}(?:\.{_ATOM})*@(?![^@]{{254}}){_LABEL}(?:\.{_LABEL})*\.{_TOP_LABEL}"
)
"""What an email address must look like, as sent: a dot-atom of at most 64 characters, ``@``, and a host
name of at most 253 (RFC 5321), so every address it admits is also a valid ``format: email``. The API
declares this pattern, so the check is the same in the document, in request validation and here."""
_EMAIL_RE: Final = re.compile(EMAIL_PATTERN)
MIN_PASSWORD_LENGTH: Final = 10
MAX_PASSWORD_LENGTH: Final = 1024
MIN_DISTINCT_CHARACTERS: Final = 4
VARIED_PATTERN: Final = (
    r"^(?=[\s\S]*?([\s\S])[\s\S]*?(?!\1)([\s\S])[\s\S]*?(?!\1|\2)([\s\S])[\s\S]*?(?!\1|\2|\3)[\s\S])"
)
"""At least four different characters: four positions, each holding a character none of the earlier ones
holds (the first occurrences of any four different characters are such positions). Declared on sign-up's
password, so the document states the rule :func:`password_problem` applies."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: a user, authenticated by a session cookie or by one of their API keys."""

    user_id: str
    email: str
    role: Role
    method: AuthMethod
    key_id: str | None = None
    key_scopes: frozenset[Scope] = frozenset()
    csrf_token: str | None = None
    """The session's CSRF token (cookie-authenticated requests only)."""

    @property
    def scopes(self) -> frozenset[Scope]:
        """Effective scopes: the role's, narrowed by the API key's when a key was used."""
        granted = ROLE_SCOPES[self.role]
        return granted & self.key_scopes if self.method == "api_key" else granted

    def allows(self, scope: Scope) -> bool:
        """True when the principal may act with ``scope`` (:attr:`scopes` without building the set)."""
        return scope in ROLE_SCOPES[self.role] and (self.method != "api_key" or scope in self.key_scopes)

    @property
    def rate_identity(self) -> str:
        """Whose budget a request spends: the API key's, or the user's for a session."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"


class IssuedApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A new API key: the secret is shown once; only ``lookup`` and ``digest`` are stored."""

    secret: str
    lookup: str
    digest: bytes


def normalize_email(email: str) -> str:
    """Lower-case and strip an address (addresses are compared case-insensitively)."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why ``email`` is not an acceptable address, or None (checked as sent, before normalising)."""
    if not _EMAIL_RE.search(email):
        return "email must look like name@example.com"
    return None


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is too weak, or None (length first: NIST SP 800-63B favours length over rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if email and normalize_email(email) == password.strip().lower():
        return "password must not be the email address"
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return "password must not repeat so few characters"
    return None


def digest(secret: str) -> bytes:
    """SHA-256 of a random secret, as stored."""
    return hashlib.sha256(secret.encode()).digest()


def same_digest(secret: str, stored: bytes) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return hmac.compare_digest(digest(secret), stored)


def new_token() -> str:
    """A random URL-safe token with 256 bits of entropy (sessions, CSRF, invitations)."""
    return secrets.token_urlsafe(32)


def issue_api_key() -> IssuedApiKey:
    """Create an API key ``egk_<lookup>_<secret>``; ``lookup`` finds the row, the digest verifies it."""
    lookup = secrets.token_hex(_LOOKUP_CHARS // 2)
    secret = f"{API_KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return IssuedApiKey(secret=secret, lookup=lookup, digest=digest(secret))


def api_key_lookup(secret: str) -> str | None:
    """The lookup part of a presented API key, or None when it is not shaped like one of ours."""
    if not secret.startswith(API_KEY_PREFIX):
        return None
    lookup, sep, rest = secret[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(lookup) != _LOOKUP_CHARS or not rest or len(secret) > 200:
        return None
    try:
        int(lookup, 16)
    except ValueError:
        return None
    return lookup


def grantable_scopes(grantor: Principal, requested: set[Scope]) -> set[Scope]:
    """Scopes of ``requested`` the grantor may not hand out (an API key never exceeds who made it)."""
    return requested - set(grantor.scopes)
