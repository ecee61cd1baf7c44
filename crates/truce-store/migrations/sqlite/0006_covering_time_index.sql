-- Period sums without reading records (issue 6, bench/README.md "Bulletin
-- at scale").
--
-- The bulletin's sums (`Store::aggregate`: violations per day over 30
-- days, land released, returns by verification) select records of one kind
-- by time and read a handful of small columns. With an index of
-- (kind, t_start) alone, SQLite fetched every matching row from the table:
-- at 10,000,000 incidents the rows of one kind lie scattered through a
-- 30 GB file, one random page each (195 ms for the 30-day trend). The time
-- index now carries every column those filters and sums read, so they are
-- answered from the index alone ("USING COVERING INDEX"); it replaces the
-- old one, so a write still updates one time index.
DROP INDEX IF EXISTS records_kind_time;
CREATE INDEX records_kind_time ON records
    (kind, t_start, t_end, sensitivity, retracted, category, status, quantity, tags);
