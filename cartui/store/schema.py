"""The SQLite schema of the event store (DESIGN.md, "Event store contract").

Only `events` is the truth. Every other table is derived and may be dropped
and rebuilt at any time.
"""

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1,
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    UNIQUE (stream_id, version)
);
-- "One stream up to position P" without touching other streams.
CREATE INDEX IF NOT EXISTS events_stream_position ON events (stream_id, position);
-- "State at time T": the largest position recorded at or before T.
CREATE INDEX IF NOT EXISTS events_recorded_at ON events (recorded_at);
-- Idempotency: an event id is stored once; a retried append is a no-op.
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (json_extract(metadata, '$.event_id'));

-- The log is append-only, even against a stray SQL client.
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable: DELETE is not allowed'); END;

-- Derived: the state of a stream at some versions, to load without a full replay.
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    state_schema INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    PRIMARY KEY (stream_id, version)
) WITHOUT ROWID;
"""

# The expression the idempotency index is built on; queries must repeat it
# to the letter for SQLite to use the index.
EVENT_ID_EXPR = "json_extract(metadata, '$.event_id')"
