-- What a bulletin needs so that its cost depends on the period, not on the
-- size of the mission (issue 6).

-- 1. Delivered tonnes per UTC day, category, corridor and sensitivity, kept
-- by triggers in the transaction that writes the manifest line, so the
-- cumulative tonnage since the mission began is a sum over days instead of
-- a read of every line. A line counts when it is delivered (index status
-- `delivered`, time = delivery time) and not withdrawn, exactly the lines
-- `aggregate` sums for `status = delivered`. `corridor` is the line's
-- `corridor` field ('' when none); `day` is `t_start / 86400000`.
CREATE TABLE delivered_daily (
    day         INTEGER NOT NULL,
    category    TEXT    NOT NULL,
    corridor    TEXT    NOT NULL,
    sensitivity INTEGER NOT NULL,
    lines       INTEGER NOT NULL,
    tonnes      REAL    NOT NULL,
    PRIMARY KEY (day, category, corridor, sensitivity)
) WITHOUT ROWID;

INSERT INTO delivered_daily (day, category, corridor, sensitivity, lines, tonnes)
    SELECT t_start / 86400000, COALESCE(category, ''),
           COALESCE(json_extract(data, '$.corridor'), ''), sensitivity,
           COUNT(*), SUM(COALESCE(quantity, 0.0))
    FROM records
    WHERE kind = 'manifest_line' AND status = 'delivered' AND retracted = 0
      AND t_start IS NOT NULL
    GROUP BY 1, 2, 3, 4;

CREATE TRIGGER delivered_daily_insert AFTER INSERT ON records
WHEN NEW.kind = 'manifest_line' AND NEW.status = 'delivered' AND NEW.retracted = 0
     AND NEW.t_start IS NOT NULL
BEGIN
    INSERT INTO delivered_daily (day, category, corridor, sensitivity, lines, tonnes)
    VALUES (NEW.t_start / 86400000, COALESCE(NEW.category, ''),
            COALESCE(json_extract(NEW.data, '$.corridor'), ''), NEW.sensitivity,
            1, COALESCE(NEW.quantity, 0.0))
    ON CONFLICT (day, category, corridor, sensitivity)
    DO UPDATE SET lines = lines + 1, tonnes = tonnes + excluded.tonnes;
END;

-- An update (a delivery recorded, corrected or withdrawn) takes the old
-- row out and puts the new one in, in that order.
CREATE TRIGGER delivered_daily_update AFTER UPDATE ON records
WHEN OLD.kind = 'manifest_line' OR NEW.kind = 'manifest_line'
BEGIN
    UPDATE delivered_daily
    SET lines = lines - 1, tonnes = tonnes - COALESCE(OLD.quantity, 0.0)
    WHERE OLD.kind = 'manifest_line' AND OLD.status = 'delivered' AND OLD.retracted = 0
      AND OLD.t_start IS NOT NULL
      AND day = OLD.t_start / 86400000 AND category = COALESCE(OLD.category, '')
      AND corridor = COALESCE(json_extract(OLD.data, '$.corridor'), '')
      AND sensitivity = OLD.sensitivity;
    INSERT INTO delivered_daily (day, category, corridor, sensitivity, lines, tonnes)
    SELECT NEW.t_start / 86400000, COALESCE(NEW.category, ''),
           COALESCE(json_extract(NEW.data, '$.corridor'), ''), NEW.sensitivity,
           1, COALESCE(NEW.quantity, 0.0)
    WHERE NEW.kind = 'manifest_line' AND NEW.status = 'delivered' AND NEW.retracted = 0
      AND NEW.t_start IS NOT NULL
    ON CONFLICT (day, category, corridor, sensitivity)
    DO UPDATE SET lines = lines + 1, tonnes = tonnes + excluded.tonnes;
END;

-- 2. Incidents merged into another report carry the tag `duplicate` (the
-- core's index since this version), so counts of violations leave them out
-- without reading each record's content. Existing rows gain it here.
UPDATE records SET tags = tags || 'duplicate '
WHERE kind = 'incident'
  AND instr(data, '"duplicate_of":"') > 0
  AND json_extract(data, '$.duplicate_of') IS NOT NULL
  AND instr(tags, ' duplicate ') = 0;
