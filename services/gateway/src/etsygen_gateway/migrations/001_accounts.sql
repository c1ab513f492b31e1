-- Accounts: users with argon2id password hashes, login sessions, API keys and admin invitations.
-- Secrets (session tokens, API keys, invitation tokens) are stored only as SHA-256 digests.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    client_ip   text,
    user_agent  text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    owner_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    lookup       text        NOT NULL UNIQUE,   -- the public part of the key, finds the row
    key_hash     bytea       NOT NULL,
    scopes       text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
-- A user's keys, newest first.
CREATE INDEX api_keys_owner_idx ON api_keys (owner_id, created_at DESC);

CREATE TABLE invitations (
    token_hash  bytea PRIMARY KEY,
    email       text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    invited_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid        REFERENCES users (id) ON DELETE SET NULL
);

-- Retention: expired sessions and invitations.
CREATE FUNCTION prune_sessions() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    DELETE FROM sessions WHERE expires_at < now();
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM invitations WHERE expires_at < now() - interval '30 days';
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END $$;
