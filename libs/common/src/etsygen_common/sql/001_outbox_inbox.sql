-- Transactional outbox and idempotent-consumer inbox, in every service's own schema.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea,
    headers     jsonb       NOT NULL,
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text
);
-- The relay's hot query: pending rows in id order.
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE sent_at IS NULL;
-- Pruning of sent rows after their window.
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE inbox (
    consumer_group text        NOT NULL,
    event_id       text        NOT NULL,
    topic          text        NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX inbox_received_at_idx ON inbox (received_at);

-- Wake the relay as soon as a row is committed; polling covers a missed notification.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify_trg AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Retention: sent outbox rows and inbox entries older than the window.
CREATE FUNCTION prune_outbox_inbox(keep interval DEFAULT interval '7 days') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM inbox WHERE received_at < now() - keep;
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END $$;
