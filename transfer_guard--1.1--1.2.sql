/* transfer_guard--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION transfer_guard UPDATE TO '1.2'" to load this file. \quit

--
-- Whether the journal keeps its two indexes by account (1.2).  No row: it
-- does.  journal_account_indexes() writes the one row; the statement trigger
-- makes the indexes match it, so a dump restored into a fresh database,
-- whose CREATE EXTENSION makes the indexes, drops them again when it loads
-- this table's row.  The functions fire no trigger but their own, so their
-- pinned search_path is safe.
--
CREATE TABLE @extschema@.transfer_guard_settings (
	journal_account_indexes pg_catalog.bool NOT NULL
);
CREATE UNIQUE INDEX transfer_guard_settings_one_row
	ON @extschema@.transfer_guard_settings ((true));
REVOKE ALL ON @extschema@.transfer_guard_settings FROM PUBLIC;
GRANT SELECT ON @extschema@.transfer_guard_settings TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_settings', '');

CREATE FUNCTION @extschema@.transfer_guard_apply_settings()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	journal pg_catalog.regclass := '@extschema@.transfer_guard_journal';
	wanted pg_catalog.bool := NOT EXISTS (
		SELECT FROM @extschema@.transfer_guard_settings AS s
		 WHERE NOT s.journal_account_indexes);
	idx record;
BEGIN
	FOR idx IN
		SELECT n.name, n.cols, i.indexrelid::pg_catalog.regclass AS existing
		  FROM (VALUES ('transfer_guard_journal_from', 'from_table, from_key'),
					   ('transfer_guard_journal_to', 'to_table, to_key')) AS n (name, cols)
		  LEFT JOIN (pg_catalog.pg_index AS i
					 JOIN pg_catalog.pg_class AS c
					   ON c.oid OPERATOR(pg_catalog.=) i.indexrelid)
			ON i.indrelid OPERATOR(pg_catalog.=) journal::pg_catalog.oid
		   AND c.relname OPERATOR(pg_catalog.=) n.name
	LOOP
		IF idx.existing IS NOT NULL AND NOT wanted THEN
			EXECUTE pg_catalog.format('DROP INDEX %s', idx.existing);
		ELSIF idx.existing IS NULL AND wanted THEN
			EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (%s)',
									  idx.name, journal, idx.cols);
		END IF;
	END LOOP;
	RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_apply_settings() FROM PUBLIC;

CREATE TRIGGER transfer_guard_apply_settings
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.transfer_guard_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.transfer_guard_apply_settings();

CREATE FUNCTION @extschema@.journal_account_indexes(enabled pg_catalog.bool)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	DELETE FROM @extschema@.transfer_guard_settings;
	IF NOT enabled THEN
		INSERT INTO @extschema@.transfer_guard_settings VALUES (false);
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.journal_account_indexes(pg_catalog.bool) FROM PUBLIC;
