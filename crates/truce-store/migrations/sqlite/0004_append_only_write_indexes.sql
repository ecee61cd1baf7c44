-- Fewer random index leaves per durable write (bench/README.md, Foundation).
--
-- 1. records_kind_category_time is never chosen by the planner: every
--    category filter is `category = ? OR instr(tags, ?) > 0`, which no
--    index serves, and time ranges use records_kind_time. Each insert still
--    dirtied one random leaf of it (random times), so it goes.
DROP INDEX IF EXISTS records_kind_category_time;

-- 2. The journal was indexed by (entity_id, seq), the record's UUID text:
--    with client-chosen random ids, every create dirtied a random leaf.
--    Entries that change a record (create, update, retract) now carry the
--    record's rid, which grows with every new record, so the index of a
--    create is an append. Other entries (users, tokens, files, audit
--    reads) keep an index by entity_id, small and rarely written.
ALTER TABLE journal ADD COLUMN rid INTEGER;
UPDATE journal SET rid = (SELECT r.rid FROM records r WHERE r.id = journal.entity_id)
    WHERE op IN ('create', 'update', 'retract');
DROP INDEX journal_entity;
CREATE INDEX journal_rid ON journal (rid, seq) WHERE rid IS NOT NULL;
CREATE INDEX journal_entity ON journal (entity_id, seq) WHERE rid IS NULL;
