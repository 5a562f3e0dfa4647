--
-- test/diff/lib.sql -- helpers of the differential test, installed into
-- the template database from which each worker makes its twin databases
--
-- Schema tgd, usable by every role.  Two helpers are the careful client's
-- own checks on the plain side (test/diff/run.sh says what "equivalent"
-- means); one turns try_transfer()'s status into the error the same
-- decision raises on the plain side; two read the outcome of a run as the
-- superuser: tgd.snapshot() (every user table, row by row, and the guards)
-- and tgd.journal_keys() (journal keys spelled otherwise than the row's
-- key, journaled balances that are not the stored ones).
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
-- not the balance they hold (scenarios change journaled rows through the
-- extension only, so the last leg that touched a row saw its last
-- balance).  The row is found by the key column the guard recorded,
-- comparing in the key's type and collation; the balance column by the
-- name the journal gives it, unless it has been renamed since.
CREATE FUNCTION tgd.journal_keys() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	j record;
	side text;
	rel regclass;
	recorded text;
	col name;
	bal numeric;
	keycol name;
	keytype text;
	canonical text;
	stored text;
	latest jsonb := '{}';		-- "table|column|key" -> the last balance
	item record;
BEGIN
	FOR j IN SELECT * FROM transfer_guard_journal ORDER BY transfer_id LOOP
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
			-- the journal keeps the history of tables dropped since
			CONTINUE WHEN NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = rel);
			keycol := NULL;
			SELECT g.key_column INTO keycol FROM transfer_guards g
			 WHERE g.tbl = rel AND g.key_column IS NOT NULL LIMIT 1;
			IF keycol IS NULL THEN
				RETURN NEXT format('journal leg %s: %s_key %L of %s: no recorded key column to check it against',
								   j.leg, side, recorded, rel);
				CONTINUE;
			END IF;
			-- the type without a typmod (character, not character(1))
			keytype := NULL;
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
				CONTINUE;
			END IF;
			IF canonical IS DISTINCT FROM recorded THEN
				RETURN NEXT format('journal leg %s: %s_key %L of %s, but the row''s %I::text is %L',
								   j.leg, side, recorded, rel, keycol, canonical);
			END IF;
			latest := latest || jsonb_build_object(concat_ws('|', rel::text, col, canonical),
				jsonb_build_object('rel', rel::text, 'col', col, 'keycol', keycol,
								   'keytype', keytype, 'key', canonical, 'bal', bal));
		END LOOP;
	END LOOP;
	FOR item IN SELECT value AS v FROM jsonb_each(latest) ORDER BY key COLLATE "C" LOOP
		rel := (item.v->>'rel')::regclass;
		CONTINUE WHEN NOT EXISTS (SELECT FROM pg_attribute a
								   WHERE a.attrelid = rel AND a.attname = item.v->>'col'
									 AND NOT a.attisdropped);
		EXECUTE format('SELECT %I::text FROM %s WHERE %I = $1::%s', item.v->>'col', rel,
					   item.v->>'keycol', item.v->>'keytype')
		   INTO stored USING item.v->>'key';
		IF stored IS DISTINCT FROM item.v->>'bal' THEN
			RETURN NEXT format('journal: the last leg of %s.%I, key %L, records balance %s; the row holds %s',
							   rel, item.v->>'col', item.v->>'key', item.v->>'bal',
							   coalesce(stored, 'no row'));
		END IF;
	END LOOP;
END;
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tgd TO PUBLIC;
