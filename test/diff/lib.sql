--
-- test/diff/lib.sql -- helpers of the differential test, installed once into
-- the template database that every scenario's twins are cloned from
--
-- Schema tgd, usable by every role.  Three helpers are the careful client's
-- own checks on the plain side (test/diff/run.sh says what "equivalent"
-- means); one turns try_transfer()'s status into the error the same
-- decision raises on the plain side; two read the outcome of a run as the
-- superuser: tgd.snapshot() (every user table, row by row) and
-- tgd.journal_keys() (journal keys spelled otherwise than the row's key).
--
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA tgd;
GRANT USAGE ON SCHEMA tgd TO PUBLIC;

-- The client locked the rows it is about to change (SELECT ... FOR NO KEY
-- UPDATE) and counts them: a row that does not exist, or that a policy
-- hides from SELECT or from UPDATE, is "not found".
CREATE FUNCTION tgd.found(got bigint, want int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF got <> want THEN
		RAISE EXCEPTION 'client: % of % rows found and locked', got, want
			USING ERRCODE = 'P0002';
	END IF;
END;
$$;

-- The client's UPDATE carried the guard's limit in its WHERE clause
-- (balance - n >= floor, balance + n <= ceiling) on a row it holds locked:
-- no row updated means the limit refused the move.
CREATE FUNCTION tgd.limited(got bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF got <> 1 THEN
		RAISE EXCEPTION 'client: % rows updated, the limit in the WHERE clause refused the move', got
			USING ERRCODE = '23514';
	END IF;
END;
$$;

-- try_transfer()'s status as the error the same decision is on the plain
-- side (its README table: ok and duplicate moved or replayed, the others
-- moved nothing).
CREATE FUNCTION tgd.status(status text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	CASE status
		WHEN 'ok', 'duplicate' THEN
			RETURN;
		WHEN 'insufficient_funds', 'limit_exceeded' THEN
			RAISE EXCEPTION 'try_transfer: %', status USING ERRCODE = '23514';
		WHEN 'not_found' THEN
			RAISE EXCEPTION 'try_transfer: %', status USING ERRCODE = 'P0002';
		WHEN 'busy' THEN
			RAISE EXCEPTION 'try_transfer: %', status USING ERRCODE = '55P03';
		ELSE
			RAISE EXCEPTION 'try_transfer: unknown status %', status;
	END CASE;
END;
$$;

-- Every ordinary table of the database that is not the extension's or
-- this harness's (so: the scenario's tables, partitions and children, its
-- trigger logs), each as a line with its columns, then its rows as text in
-- byte order (ONLY: a row shows under the table that stores it); then the
-- guards (the same DDL runs in both twins, so they differ only if a call
-- changed them).
CREATE FUNCTION tgd.snapshot() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	line text;
BEGIN
	FOR r IN
		SELECT c.oid, n.nspname, c.relname
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.relkind = 'r' AND c.relpersistence <> 't'
		   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tgd')
		   AND n.nspname NOT LIKE 'pg\_toast%'
		   AND NOT EXISTS (SELECT FROM pg_depend d
							WHERE d.classid = 'pg_class'::regclass
							  AND d.objid = c.oid AND d.deptype = 'e')
		 ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
	LOOP
		RETURN NEXT format('table %I.%I (%s)', r.nspname, r.relname,
			(SELECT string_agg(format('%I %s', a.attname,
									  format_type(a.atttypid, a.atttypmod)),
							   ', ' ORDER BY a.attnum)
			   FROM pg_attribute a
			  WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped));
		FOR line IN EXECUTE format('SELECT t::text FROM ONLY %I.%I t ORDER BY t::text COLLATE "C"',
								   r.nspname, r.relname)
		LOOP
			RETURN NEXT '    ' || line;
		END LOOP;
	END LOOP;
	RETURN QUERY
		SELECT l FROM (
			SELECT format('guard %s.%I: min %s, max %s, journal %s, version %s, key %s',
						  g.tbl, g.balance_column, coalesce(g.min_balance::text, '-'),
						  coalesce(g.max_balance::text, '-'), g.journal,
						  coalesce(g.version_column::text, '-'), coalesce(g.key_column::text, '-')) AS l
			  FROM transfer_guards g) s
		 ORDER BY l COLLATE "C";
END;
$$;

-- Journal rows whose from_key or to_key is not the text of the row's own
-- key (key::text, what a reconciliation joins on, as README's example
-- does), or that address no row; and rows whose last journaled balance is
-- not the balance they hold.  The row is found by the key column the guard
-- recorded, comparing in the key's type and collation.
CREATE FUNCTION tgd.journal_keys() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	j record;
	side text;
	rel regclass;
	recorded text;
	keycol name;
	keytype text;
	canonical text;
	col name;
	bal numeric;
	stored text;
	last_balances text[] := '{}';
	i int;
BEGIN
	FOR j IN SELECT * FROM transfer_guard_journal ORDER BY transfer_id LOOP
		-- leg by leg: the balances it records must be the stored ones when
		-- no later leg touched the row (scenarios change journaled rows
		-- through transfer() only, so the last leg's balance is the last)
		FOREACH side IN ARRAY ARRAY['from', 'to'] LOOP
			IF side = 'from' THEN
				rel := j.from_table;
				recorded := j.from_key;
				col := j.from_column;
				bal := j.from_balance;
			ELSE
				rel := j.to_table;
				recorded := j.to_key;
				col := j.to_column;
				bal := j.to_balance;
			END IF;
			IF EXISTS (SELECT FROM transfer_guard_journal l
						WHERE l.transfer_id > j.transfer_id
						  AND ((l.from_table = rel AND l.from_column = col AND l.from_key = recorded)
							OR (l.to_table = rel AND l.to_column = col AND l.to_key = recorded))) THEN
				CONTINUE;
			END IF;
			last_balances := last_balances || ARRAY[[rel::text, col::text, recorded, bal::text]];
		END LOOP;
	END LOOP;
	FOR j IN SELECT * FROM transfer_guard_journal ORDER BY transfer_id LOOP
		FOREACH side IN ARRAY ARRAY['from', 'to'] LOOP
			IF side = 'from' THEN
				rel := j.from_table;
				recorded := j.from_key;
			ELSE
				rel := j.to_table;
				recorded := j.to_key;
			END IF;
			SELECT g.key_column INTO keycol FROM transfer_guards g
			 WHERE g.tbl = rel AND g.key_column IS NOT NULL LIMIT 1;
			IF keycol IS NULL THEN
				RETURN NEXT format('journal leg %s: %s_key %L of %s: no recorded key column to check it against',
								   j.leg, side, recorded, rel);
				CONTINUE;
			END IF;
			-- the type without a typmod (character, not character(1))
			SELECT format('%I.%I', n.nspname, y.typname) INTO keytype
			  FROM pg_attribute a
			  JOIN pg_type y ON y.oid = a.atttypid
			  JOIN pg_namespace n ON n.oid = y.typnamespace
			 WHERE a.attrelid = rel AND a.attname = keycol AND NOT a.attisdropped;
			IF keytype IS NULL THEN
				RETURN NEXT format('journal leg %s: the guard of %s records key column %I, which %s does not have',
								   j.leg, rel, keycol, rel);
				CONTINUE;
			END IF;
			EXECUTE format('SELECT %I::text FROM %s WHERE %I = $1::%s', keycol, rel, keycol, keytype)
			   INTO canonical USING recorded;
			IF canonical IS NULL THEN
				RETURN NEXT format('journal leg %s: %s_key %L of %s matches no row',
								   j.leg, side, recorded, rel);
			ELSIF canonical IS DISTINCT FROM recorded THEN
				RETURN NEXT format('journal leg %s: %s_key %L of %s, but the row''s %I::text is %L',
								   j.leg, side, recorded, rel, keycol, canonical);
			END IF;
		END LOOP;
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(last_balances, 1), 0) LOOP
		rel := last_balances[i][1]::regclass;
		SELECT g.key_column INTO keycol FROM transfer_guards g
		 WHERE g.tbl = rel AND g.key_column IS NOT NULL LIMIT 1;
		SELECT format('%I.%I', n.nspname, y.typname) INTO keytype
		  FROM pg_attribute a
		  JOIN pg_type y ON y.oid = a.atttypid
		  JOIN pg_namespace n ON n.oid = y.typnamespace
		 WHERE a.attrelid = rel AND a.attname = keycol AND NOT a.attisdropped;
		CONTINUE WHEN keytype IS NULL;		-- reported above
		-- the journal names the column as it was called then
		CONTINUE WHEN NOT EXISTS (SELECT FROM pg_attribute a
								   WHERE a.attrelid = rel AND a.attname = last_balances[i][2]
									 AND NOT a.attisdropped);
		EXECUTE format('SELECT %I::text FROM %s WHERE %I = $1::%s',
					   last_balances[i][2], rel, keycol, keytype)
		   INTO stored USING last_balances[i][3];
		IF stored IS DISTINCT FROM last_balances[i][4] THEN
			RETURN NEXT format('journal: the last leg of %s.%I key %L records balance %s, the row holds %s',
							   rel, last_balances[i][2], last_balances[i][3],
							   last_balances[i][4], coalesce(stored, 'no row'));
		END IF;
	END LOOP;
END;
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tgd TO PUBLIC;
