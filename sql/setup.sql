--
-- setup: install the extension and a helper that shows an error's SQLSTATE
-- and fields, so that a changed code or a missing field fails the diff.
--
CREATE EXTENSION transfer_guard;

CREATE FUNCTION tg_try(stmt text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
	sch text; tbl text; col text; con text; ctx text; line text;
BEGIN
	EXECUTE stmt;
	RETURN NEXT 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT,
		sch = SCHEMA_NAME, tbl = TABLE_NAME, col = COLUMN_NAME,
		con = CONSTRAINT_NAME, ctx = PG_EXCEPTION_CONTEXT;
	RETURN NEXT st || ': ' || msg;
	IF det <> '' THEN RETURN NEXT 'DETAIL: ' || det; END IF;
	IF hnt <> '' THEN RETURN NEXT 'HINT: ' || hnt; END IF;
	-- the extension's own context lines (batch legs), not PL/pgSQL's
	FOREACH line IN ARRAY string_to_array(ctx, E'\n') LOOP
		IF line LIKE 'transfer_batch leg%' THEN
			RETURN NEXT 'CONTEXT: ' || line;
		END IF;
	END LOOP;
	IF tbl <> '' THEN
		RETURN NEXT 'FIELDS: schema=' || sch || ' table=' || tbl
			|| coalesce(' column=' || NULLIF(col, ''), '')
			|| coalesce(' constraint=' || NULLIF(con, ''), '');
	END IF;
END;
$$;

SELECT extname, extversion FROM pg_extension WHERE extname = 'transfer_guard';
