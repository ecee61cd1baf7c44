-- A stored first response is about 1 KB (a whole incident). In the former
-- WITHOUT ROWID table such a row exceeds the inline limit of an index page
-- and spilled into its own 4 KB overflow page, and every insert landed on a
-- random leaf. As a rowid table the rows are appended in order and stored
-- inline; only the small (scope, key) index is random.
CREATE TABLE idempotency_v2 (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    response     TEXT NOT NULL,
    UNIQUE (scope, key)
);
INSERT INTO idempotency_v2 (scope, key, request_hash, seq, response)
    SELECT scope, key, request_hash, seq, response FROM idempotency;
DROP TABLE idempotency;
ALTER TABLE idempotency_v2 RENAME TO idempotency;
