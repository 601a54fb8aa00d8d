"""The SQLite schema of the event store (DESIGN.md, "Event store contract").

Only `events` is the truth. Every other table is derived and may be dropped
and rebuilt at any time.
"""

# Everything but the uniqueness of (stream_id, version), which follows.
_SCHEMA_WITHOUT_STREAM_VERSION_SQL = """
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1,
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL
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

# UNIQUE(stream_id, version) is an index rather than a table constraint, so that a
# bulk load into an empty log can drop it and build it once at the end (a table
# constraint's index cannot be dropped). Databases made before keep their table
# constraint and get no second index on the same columns.
STREAM_VERSION_INDEX = "events_stream_version"
STREAM_VERSION_INDEX_SQL = (
    f"CREATE UNIQUE INDEX IF NOT EXISTS {STREAM_VERSION_INDEX} ON events (stream_id, version);\n")

SCHEMA_SQL = _SCHEMA_WITHOUT_STREAM_VERSION_SQL + STREAM_VERSION_INDEX_SQL
LEGACY_SCHEMA_SQL = _SCHEMA_WITHOUT_STREAM_VERSION_SQL  # for a table with the constraint

EVENT_ID_INDEX = "events_event_id"  # the idempotency index, as SCHEMA_SQL names it
# The expression the idempotency index is built on; queries must repeat it
# to the letter for SQLite to use the index.
EVENT_ID_EXPR = "json_extract(metadata, '$.event_id')"
