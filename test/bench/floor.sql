-- the floor: both rows changed by one statement, no check, no journal
-- (after keys.sql).  Its generic plan (-M prepared) is a bitmap heap scan,
-- which locks the rows in their physical order; updates move rows, so two
-- statements can meet them in opposite orders and deadlock, as the busy
-- cells show
UPDATE accounts SET balance = balance + CASE id WHEN :a THEN -1 ELSE 1 END
	WHERE id = ANY (ARRAY[:a, :b]::bigint[]);
