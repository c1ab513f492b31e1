-- One-time links that create the first admin in the browser: `etsygen dev` (and `etsygen users setup-link`)
-- issues one while no account exists. Only the SHA-256 digest of a link's token is stored; issuing a new
-- link retires the unused ones, so only the link printed last works.
CREATE TABLE setup_links (
    token_hash bytea PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    used_by    uuid REFERENCES users (id) ON DELETE SET NULL
);
