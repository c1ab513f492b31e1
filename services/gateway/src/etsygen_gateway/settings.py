"""Gateway settings: the common sections plus accounts, HTTP edge, rate limits and caches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

import msgspec

from etsygen_common.settings import CommonSettings, SettingsSection, doc, load_environ


class GatewaySection(SettingsSection, frozen=True, kw_only=True):
    """HTTP API, accounts and sessions of the gateway."""

    env_prefix: ClassVar[str] = "GATEWAY_"
    signup_mode: Annotated[
        Literal["open", "invite"], doc("open: anyone may sign up; invite: only with an admin's invitation")
    ] = "invite"
    signup_role: Annotated[
        Literal["viewer", "operator"], doc("Role of users who sign up without an invitation (open mode)")
    ] = "operator"
    cookie_secure: Annotated[
        bool, doc("Mark session cookies Secure (and use the __Host- prefix); disable only for plain-HTTP dev")
    ] = True
    session_ttl_s: Annotated[int, doc("Lifetime of a login session, in seconds", ge=60)] = 7 * 24 * 3600
    auth_cache_s: Annotated[
        float, doc("Seconds a verified session or API key is remembered per process (revocation delay)", ge=0)
    ] = 5.0
    argon2_time_cost: Annotated[int, doc("argon2id iterations for password hashes (OWASP: 2)", ge=1)] = 2
    argon2_memory_kib: Annotated[
        int, doc("argon2id memory per password hash, in KiB (OWASP: 19456)", ge=8)
    ] = 19_456
    argon2_parallelism: Annotated[int, doc("argon2id lanes per password hash", ge=1)] = 1
    invitation_ttl_s: Annotated[int, doc("Lifetime of an admin invitation, in seconds", ge=60)] = (
        7 * 24 * 3600
    )
    trusted_proxies: Annotated[
        tuple[str, ...], doc("Comma-separated CIDRs of proxies whose X-Forwarded-For is believed")
    ] = ()
    allowed_origins: Annotated[
        tuple[str, ...],
        doc("Extra origins (scheme://host[:port]) allowed to open cookie-authenticated WebSockets"),
    ] = ()
    max_body_bytes: Annotated[int, doc("Largest accepted request body, in bytes (413 above)", ge=1)] = (
        1_048_576
    )
    hsts_max_age_s: Annotated[int, doc("Strict-Transport-Security max-age, in seconds", ge=0)] = 63_072_000
    static_dir: Annotated[
        str | None, doc("Folder served at /dashboard; unset serves the dashboard shipped with the gateway")
    ] = None
    health_interval_s: Annotated[
        float, doc("Seconds between health reports on /v1/health/live-stream", gt=0)
    ] = 5.0
    stall_after_s: Annotated[
        float,
        doc(
            "Upper bound of a stage's deadline: seconds without progress after which an unfinished keyword"
            " counts as stalled at the latest, unless a consumer said it waits longer for a known reason",
            gt=0,
        ),
    ] = 900.0
    deadline_etsy_call_s: Annotated[
        float, doc("Seconds one Etsy call takes at the expected pace (scrape deadlines)", gt=0)
    ] = 0.25
    deadline_review_calls: Annotated[
        int, doc("Etsy review calls a keyword's scrape makes (the scraper's SCRAPER_TOP_N_REVIEWS)", ge=0)
    ] = 20
    deadline_analysis_s: Annotated[float, doc("Seconds the analyzer is given to score a keyword", gt=0)] = (
        30.0
    )
    deadline_ai_call_s: Annotated[float, doc("Seconds one AI call may take (AI_TIMEOUT_S)", gt=0)] = 30.0
    deadline_ai_attempts: Annotated[int, doc("AI attempts per concept (AI_MAX_ATTEMPTS)", ge=1)] = 3
    deadline_margin_s: Annotated[
        float, doc("Seconds added to every stage deadline and to a waiting keyword's resume time", ge=0)
    ] = 120.0
    stall_max_redrives: Annotated[
        int, doc("Times a stalled keyword is re-driven before it fails with a reason", ge=0)
    ] = 2
    stall_sweep_s: Annotated[float, doc("Seconds between sweeps for stalled keywords", gt=0)] = 60.0
    setup_link_ttl_s: Annotated[
        int, doc("Seconds a first-admin setup link (printed while no account exists) stays valid", ge=60)
    ] = 900
    dead_letter_retention_days: Annotated[
        int, doc("Days dead letters are kept (etsygen retention run, etsygen dead-letters prune)", ge=1)
    ] = 30
    job_archive_after_days: Annotated[
        int, doc("Days after a job finished that retention moves it to the archive (readable by id)", ge=1)
    ] = 30
    invitation_retention_days: Annotated[int, doc("Days expired invitations are kept", ge=0)] = 30
    redis_max_connections: Annotated[
        int, doc("Connections in the gateway's Redis pool; commands wait for one when all are busy", ge=1)
    ] = 64


class RateLimitSection(SettingsSection, frozen=True, kw_only=True):
    """Rate limits (GCRA in Redis); each tier is ``limit`` requests per ``window`` seconds."""

    env_prefix: ClassVar[str] = "GATEWAY_RATE_"
    enabled: Annotated[bool, doc("Turn rate limiting off entirely (benchmarks, never production)")] = True
    auth_limit: Annotated[
        int, doc("Failed sign-up/login attempts per account and per client IP (successes spend none)", ge=1)
    ] = 5
    auth_window_s: Annotated[int, doc("Window of the failed-attempt limits, in seconds", ge=1)] = 900
    auth_requests_limit: Annotated[
        int, doc("All sign-up/login requests per client IP, failed or not (stops floods)", ge=1)
    ] = 50
    auth_requests_window_s: Annotated[int, doc("Window of the all-requests auth limit, in seconds", ge=1)] = (
        900
    )
    api_limit: Annotated[int, doc("API requests per API key, user, or anonymous client IP", ge=1)] = 100
    api_window_s: Annotated[int, doc("Window of the API tier, in seconds", ge=1)] = 900
    ai_limit: Annotated[
        int, doc("AI concepts per API key or user (a job spends keywords x concepts_per_niche)", ge=1)
    ] = 20
    ai_window_s: Annotated[int, doc("Window of the AI tier, in seconds", ge=1)] = 3600
    replay_limit: Annotated[int, doc("Dead-letter replays per admin", ge=1)] = 30
    replay_window_s: Annotated[int, doc("Window of the replay tier, in seconds", ge=1)] = 3600


class CacheSection(SettingsSection, frozen=True, kw_only=True):
    """Read-model caches in Redis."""

    env_prefix: ClassVar[str] = "GATEWAY_CACHE_"
    enabled: Annotated[bool, doc("Use the Redis read cache")] = True
    trends_ttl_s: Annotated[int, doc("Lifetime of cached trend reads, in seconds", ge=1)] = 1800
    products_ttl_s: Annotated[int, doc("Lifetime of cached product reads, in seconds", ge=1)] = 3600
    jobs_ttl_s: Annotated[int, doc("Lifetime of cached job reads, in seconds", ge=1)] = 600
    early_refresh_beta: Annotated[
        float, doc("XFetch beta: >1 refreshes earlier, 0 disables early refresh", ge=0)
    ] = 1.0
    lock_ttl_ms: Annotated[int, doc("How long a recomputation may hold its key's lock, in ms", ge=100)] = 5000
    local_ttl_s: Annotated[
        float, doc("Seconds each process keeps what it read (near cache, dropped on change); 0 = off", ge=0)
    ] = 2.0


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway reads from the environment."""

    common: CommonSettings
    gateway: GatewaySection
    rate: RateLimitSection
    cache: CacheSection

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """Read and validate; raises SettingsError naming the variable."""
        environ = load_environ() if environ is None else environ
        return cls(
            common=CommonSettings.from_env(environ),
            gateway=GatewaySection.from_env(environ),
            rate=RateLimitSection.from_env(environ),
            cache=CacheSection.from_env(environ),
        )
