--
-- test/fuzz/lib.sql -- assertions for the hostile-input and attack checks
--
-- Each check states its claim and prints one line, "ok N - claim" or
-- "not ok N - claim" followed by "#" lines saying what was seen instead.
-- test/fuzz/run.sh counts those lines.
--
-- The helpers live in schema tgt and are written so that objects planted in
-- the caller's search_path cannot change them: every operator and function
-- they use is qualified with pg_catalog, so a check can run with a hostile
-- search_path in force.  They keep no state in tables (a check may run under
-- a role that could not write them); the running number is a custom setting.
--
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS tgt CASCADE;
CREATE SCHEMA tgt;
GRANT USAGE ON SCHEMA tgt TO PUBLIC;

-- the next check number
CREATE FUNCTION tgt.next_number() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	cur text := COALESCE(pg_catalog.current_setting('tgt.n', true), '');
	n int := 1;
BEGIN
	IF cur OPERATOR(pg_catalog.<>) '' THEN
		n := cur::pg_catalog.int4 OPERATOR(pg_catalog.+) 1;
	END IF;
	PERFORM pg_catalog.set_config('tgt.n', n::pg_catalog.text, false);
	RETURN n;
END;
$$;

CREATE FUNCTION tgt.line(pass boolean, claim text, detail text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	n int := tgt.next_number();
	s text;
BEGIN
	IF pass THEN
		RETURN pg_catalog.format('ok %s - %s', n, claim);
	END IF;
	s := pg_catalog.format('not ok %s - %s', n, claim);
	IF detail IS NOT NULL THEN
		s := pg_catalog.concat(s, E'\n# ',
			pg_catalog.replace(detail, E'\n', E'\n# '));
	END IF;
	RETURN s;
END;
$$;

-- a boolean claim
CREATE FUNCTION tgt.ok(claim text, pass boolean, detail text DEFAULT NULL)
RETURNS text
LANGUAGE sql AS $$
	SELECT tgt.line(COALESCE(pass, false), claim,
		COALESCE(detail, 'the condition was false or null'))
$$;

-- two values are equal (as text; NULLs equal)
CREATE FUNCTION tgt.is(claim text, got anyelement, want anyelement)
RETURNS text
LANGUAGE sql AS $$
	SELECT tgt.line(COALESCE(got::pg_catalog.text OPERATOR(pg_catalog.=) want::pg_catalog.text,
			got IS NULL AND want IS NULL),
		claim, pg_catalog.format(E'got:  %s\nwant: %s',
			COALESCE(got::pg_catalog.text, 'NULL'),
			COALESCE(want::pg_catalog.text, 'NULL')))
$$;

--
-- Run a statement in a subtransaction and check its outcome: want is a
-- SQLSTATE, or '00000' for success.  The statement's effects are kept when
-- it succeeds.  Any statement runs, as it would for a client: planted
-- objects in the search_path are in force during it.
--
CREATE FUNCTION tgt.state_of(stmt text, OUT state text, OUT msg text,
	OUT constraint_name text, OUT table_name text, OUT column_name text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := '00000';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		constraint_name = CONSTRAINT_NAME, table_name = TABLE_NAME,
		column_name = COLUMN_NAME;
END;
$$;

CREATE FUNCTION tgt.expect(claim text, stmt text, want text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	r := tgt.state_of(stmt);
	RETURN tgt.line(r.state OPERATOR(pg_catalog.=) want, claim,
		pg_catalog.format(E'statement: %s\nwant SQLSTATE %s, got %s%s', stmt,
			want, r.state,
			COALESCE(': ' OPERATOR(pg_catalog.||) r.msg, '')));
END;
$$;

-- The outcome is one of several SQLSTATEs.
CREATE FUNCTION tgt.expect_any(claim text, stmt text, wants text[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	r := tgt.state_of(stmt);
	RETURN tgt.line(r.state OPERATOR(pg_catalog.=) ANY (wants), claim,
		pg_catalog.format(E'statement: %s\nwant SQLSTATE one of %s, got %s%s',
			stmt, wants, r.state,
			COALESCE(': ' OPERATOR(pg_catalog.||) r.msg, '')));
END;
$$;

-- The statement fails with this SQLSTATE and this constraint name: a rule
-- of the table itself, not a limit of the guard, fired.
CREATE FUNCTION tgt.expect_constraint(claim text, stmt text, want text,
	want_constraint text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	r := tgt.state_of(stmt);
	RETURN tgt.line(r.state OPERATOR(pg_catalog.=) want
			AND COALESCE(r.constraint_name, '') OPERATOR(pg_catalog.=) want_constraint,
		claim,
		pg_catalog.format(E'statement: %s\nwant SQLSTATE %s constraint %s, got %s constraint %s%s',
			stmt, want, want_constraint, r.state, r.constraint_name,
			COALESCE(': ' OPERATOR(pg_catalog.||) r.msg, '')));
END;
$$;

-- Like expect, but every effect of the statement is rolled back.
CREATE FUNCTION tgt.expect_rolled_back(claim text, stmt text, want text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	BEGIN
		r := tgt.state_of(stmt);
		RAISE EXCEPTION USING ERRCODE = 'TGRB0';
	EXCEPTION WHEN SQLSTATE 'TGRB0' THEN
		NULL;
	END;
	RETURN tgt.line(r.state OPERATOR(pg_catalog.=) want, claim,
		pg_catalog.format(E'statement: %s\nwant SQLSTATE %s, got %s%s', stmt,
			want, r.state,
			COALESCE(': ' OPERATOR(pg_catalog.||) r.msg, '')));
END;
$$;

-- The statement ends with SQLSTATE want, and a query counting the money
-- (first column of its first row) gives the same value after it as before:
-- a refused call moves nothing, and a step of a hold keeps the balances
-- plus the open holds as they were.
CREATE FUNCTION tgt.expect_kept(claim text, stmt text, want text, money text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	before numeric;
	after numeric;
	r record;
BEGIN
	EXECUTE money INTO before;
	r := tgt.state_of(stmt);
	EXECUTE money INTO after;
	RETURN tgt.line(r.state OPERATOR(pg_catalog.=) want
			AND COALESCE(before OPERATOR(pg_catalog.=) after, before IS NULL AND after IS NULL), claim,
		pg_catalog.format(E'statement: %s\nwant SQLSTATE %s, got %s%s\nmoney before %s, after %s',
			stmt, want, r.state, COALESCE(': ' OPERATOR(pg_catalog.||) r.msg, ''),
			before, after));
END;
$$;

-- The result of a query as one text value (first column of the first row).
CREATE FUNCTION tgt.value(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	EXECUTE query INTO v;
	RETURN v;
END;
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tgt TO PUBLIC;
