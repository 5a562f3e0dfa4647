/* transfer_guard--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION transfer_guard UPDATE TO '1.2'" to load this file. \quit

--
-- Whether the journal keeps its two indexes by account (1.2).  No row: it
-- does.  journal_account_indexes() writes the one row; the statement trigger
-- makes the indexes match it, so a dump restored into a fresh database,
-- whose CREATE EXTENSION makes the indexes, drops them again when it loads
-- this table's row.  The trigger fires always, also under
-- session_replication_role = replica.  Neither function pins search_path:
-- their DDL fires the database's event triggers, which must see the
-- caller's; every name in them is qualified instead.
--
CREATE TABLE @extschema@.transfer_guard_settings (
	journal_account_indexes pg_catalog.bool NOT NULL
);
CREATE UNIQUE INDEX transfer_guard_settings_one_row
	ON @extschema@.transfer_guard_settings ((true));
REVOKE ALL ON @extschema@.transfer_guard_settings FROM PUBLIC;
GRANT SELECT ON @extschema@.transfer_guard_settings TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_guard_settings', '');

--
-- Make the journal's indexes by account match the setting.  They are found
-- by what they are (plain btree indexes on exactly (from_table, from_key)
-- or (to_table, to_key)), not by name, and made under their usual names
-- unless another relation has taken one.
--
CREATE FUNCTION @extschema@.transfer_guard_apply_settings()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	journal pg_catalog.regclass := '@extschema@.transfer_guard_journal';
	nsp pg_catalog.name;
	wanted pg_catalog.bool := NOT EXISTS (
		SELECT FROM @extschema@.transfer_guard_settings AS s
		 WHERE NOT s.journal_account_indexes);
	want record;
	idx record;
	found pg_catalog.bool;
BEGIN
	SELECT s.nspname INTO nsp
	  FROM pg_catalog.pg_class AS c
	  JOIN pg_catalog.pg_namespace AS s ON s.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.oid OPERATOR(pg_catalog.=) journal::pg_catalog.oid;
	FOR want IN
		SELECT v.name, v.tbl_col, v.key_col
		  FROM (VALUES ('transfer_guard_journal_from', 'from_table', 'from_key'),
					   ('transfer_guard_journal_to', 'to_table', 'to_key'))
			   AS v (name, tbl_col, key_col)
	LOOP
		found := false;
		FOR idx IN
			SELECT c.relname
			  FROM pg_catalog.pg_index AS i
			  JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
			  JOIN pg_catalog.pg_am AS a ON a.oid OPERATOR(pg_catalog.=) c.relam
			 WHERE i.indrelid OPERATOR(pg_catalog.=) journal::pg_catalog.oid
			   AND a.amname OPERATOR(pg_catalog.=) 'btree'
			   AND NOT i.indisunique
			   AND i.indexprs IS NULL AND i.indpred IS NULL
			   AND i.indnatts OPERATOR(pg_catalog.=) 2
			   AND pg_catalog.pg_get_indexdef(i.indexrelid, 1, true)
				   OPERATOR(pg_catalog.=) want.tbl_col
			   AND pg_catalog.pg_get_indexdef(i.indexrelid, 2, true)
				   OPERATOR(pg_catalog.=) want.key_col
		LOOP
			found := true;
			IF NOT wanted THEN
				EXECUTE pg_catalog.format('DROP INDEX %I.%I', nsp, idx.relname);
			END IF;
		END LOOP;
		IF wanted AND NOT found THEN
			IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', nsp, want.name)) IS NULL THEN
				EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.transfer_guard_journal (%I, %I)',
										  want.name, nsp, want.tbl_col, want.key_col);
			ELSE
				EXECUTE pg_catalog.format('CREATE INDEX ON %I.transfer_guard_journal (%I, %I)',
										  nsp, want.tbl_col, want.key_col);
			END IF;
		END IF;
	END LOOP;
	RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.transfer_guard_apply_settings() FROM PUBLIC;

CREATE TRIGGER transfer_guard_apply_settings
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.transfer_guard_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.transfer_guard_apply_settings();
ALTER TABLE @extschema@.transfer_guard_settings
	ENABLE ALWAYS TRIGGER transfer_guard_apply_settings;

--
-- Switch the indexes.  The journal's lock for the DDL (SHARE to build,
-- ACCESS EXCLUSIVE to drop) is taken first, waiting at most 100 ms at a
-- time (lock_timeout), so that the switch never stands in the lock queue
-- for long in front of transfers while a long transaction or pg_dump holds
-- the journal; after 50 tries it gives up with 55P03.  One statement
-- writes the setting, so its trigger runs once, and asking for the state
-- already in place does no DDL.
--
CREATE FUNCTION @extschema@.journal_account_indexes(enabled pg_catalog.bool)
RETURNS void
LANGUAGE plpgsql
SET lock_timeout = '100ms'
AS $$
DECLARE
	tries pg_catalog.int4 := 0;
BEGIN
	IF enabled IS NULL THEN
		RAISE EXCEPTION 'enabled must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	LOOP
		BEGIN
			IF enabled THEN
				LOCK TABLE @extschema@.transfer_guard_journal IN SHARE MODE;
			ELSE
				LOCK TABLE @extschema@.transfer_guard_journal IN ACCESS EXCLUSIVE MODE;
			END IF;
			EXIT;
		EXCEPTION WHEN lock_not_available THEN
			tries := tries OPERATOR(pg_catalog.+) 1;
			IF tries OPERATOR(pg_catalog.>=) 50 THEN
				RAISE EXCEPTION 'could not lock table "transfer_guard_journal" to change its indexes'
					USING ERRCODE = 'lock_not_available',
						  DETAIL = 'Other transactions held a lock on it through 50 tries of 100 ms.',
						  HINT = 'Try again when no long transaction or pg_dump is using the journal.';
			END IF;
		END;
	END LOOP;
	IF enabled THEN
		DELETE FROM @extschema@.transfer_guard_settings;
	ELSE
		INSERT INTO @extschema@.transfer_guard_settings (journal_account_indexes)
		VALUES (false)
		ON CONFLICT ((true)) DO UPDATE SET journal_account_indexes = false;
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.journal_account_indexes(pg_catalog.bool) FROM PUBLIC;
