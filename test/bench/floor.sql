-- the floor: both rows changed by one statement, no check, no journal
-- (after keys.sql); the index scan sorts the keys, so rows lock in key order
UPDATE accounts SET balance = balance + CASE id WHEN :a THEN -1 ELSE 1 END
	WHERE id = ANY (ARRAY[:a, :b]::bigint[]);
