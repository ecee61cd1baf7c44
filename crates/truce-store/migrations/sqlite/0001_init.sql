-- The journal: append-only, hash-chained. Never updated, never deleted from.
CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY,
    entry_id        TEXT    NOT NULL UNIQUE,
    entity          TEXT    NOT NULL,
    entity_id       TEXT    NOT NULL,
    op              TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    at              TEXT    NOT NULL,
    reason          TEXT,
    idempotency_key TEXT,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL
);
CREATE INDEX journal_entity ON journal (entity_id, seq);

-- Current state, derived from the journal in the same transaction.
CREATE TABLE records (
    rid         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    sensitivity INTEGER NOT NULL,
    retracted   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL,
    last_seq    INTEGER NOT NULL,
    t_start     INTEGER,
    t_end       INTEGER,
    category    TEXT,
    tags        TEXT    NOT NULL DEFAULT '',
    status      TEXT,
    parties     TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL DEFAULT '',
    geometry    TEXT,
    data        TEXT    NOT NULL
);
CREATE INDEX records_kind_rid ON records (kind, rid);
CREATE INDEX records_kind_time ON records (kind, t_start);
CREATE VIRTUAL TABLE records_rtree USING rtree (rid, min_lon, max_lon, min_lat, max_lat);

-- First results of requests sent with an Idempotency-Key, per actor.
CREATE TABLE idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    response     TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL
);

-- Mission files such as basemap layers.
CREATE TABLE assets (
    name         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL
);
