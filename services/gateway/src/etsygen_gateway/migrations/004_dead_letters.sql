-- Records that failed in any consumer, stored byte for byte (the body may not even decode) for inspection,
-- replay and discard by admins. One row per original record and consumer group.
CREATE TABLE dead_letters (
    id                 bigserial PRIMARY KEY,
    original_topic     text        NOT NULL,
    original_partition integer     NOT NULL,
    original_offset    bigint      NOT NULL,
    consumer_group     text        NOT NULL,
    dlq_partition      integer     NOT NULL,
    dlq_offset         bigint      NOT NULL,
    record_key         bytea,
    headers            jsonb       NOT NULL,
    body               bytea       NOT NULL,
    exception_type     text,
    exception_message  text,
    attempts           integer,
    event_id           text,
    failed_at          timestamptz,
    status             text        NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'replayed', 'discarded')),
    replay_count       integer     NOT NULL DEFAULT 0,
    last_replayed_at   timestamptz,
    discarded_at       timestamptz,
    received_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (original_topic, original_partition, original_offset, consumer_group)
);
-- Admin listing newest first (keyset on id), optionally by status or original topic; pruning by age.
CREATE INDEX dead_letters_status_idx ON dead_letters (status, id DESC);
CREATE INDEX dead_letters_topic_idx ON dead_letters (original_topic, id DESC);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at);

-- Retention: dead letters older than the window (30 days by default).
CREATE FUNCTION prune_dead_letters(keep interval DEFAULT interval '30 days') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    DELETE FROM dead_letters WHERE received_at < now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
