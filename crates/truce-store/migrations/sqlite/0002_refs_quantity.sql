-- Links between records and a summable amount, for module aggregates.
ALTER TABLE records ADD COLUMN refs TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN quantity REAL;
CREATE INDEX records_kind_category_time ON records (kind, category, t_start);
