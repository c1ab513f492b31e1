-- The highest offset of the broker heartbeat topic that the broker acknowledged to this service: a broker
-- whose log now ends at or below it lost acknowledged records (restarted empty, topic recreated).
CREATE TABLE broker_marks (
    topic        text        PRIMARY KEY,
    acked_offset bigint      NOT NULL,
    losses       integer     NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
