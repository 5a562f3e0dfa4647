--
-- guard: declaring guarded balance columns, changing limits, the view,
-- unguard, and what cannot be guarded.
--
CREATE TABLE g_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL,
						 credit integer, note text);
INSERT INTO g_accounts VALUES (1, 100, 0, 'a'), (2, 0, 0, 'b');

-- defaults: floor 0, no ceiling
SELECT guard('g_accounts', 'balance');
SELECT * FROM transfer_guards ORDER BY tbl::text, balance_column;

-- calling again changes the limits
SELECT guard('g_accounts', 'balance', -50, 1000);
SELECT * FROM transfer_guards ORDER BY tbl::text, balance_column;
SELECT guard('g_accounts', 'balance', NULL, NULL);
SELECT * FROM transfer_guards ORDER BY tbl::text, balance_column;

-- a second guarded column of the same table
SELECT guard('g_accounts', 'credit', min_balance => 0, max_balance => 10);
SELECT * FROM transfer_guards ORDER BY tbl::text, balance_column;

-- unguard, and unguard of what is not guarded
SELECT unguard('g_accounts', 'credit');
SELECT * FROM tg_try($$SELECT unguard('g_accounts', 'credit')$$);
SELECT * FROM transfer_guards ORDER BY tbl::text, balance_column;

-- refused: a column of a type that is not an integer or numeric
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'note')$$);
-- refused: no such column, a system column, the key itself
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'nope')$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'xmin')$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'id')$$);
-- refused: limits that make no sense
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'balance', 10, 5)$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'balance', 'NaN', NULL)$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'balance', 0, 'Infinity')$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', 'balance', 0.5)$$);
-- refused: NULL table or column
SELECT * FROM tg_try($$SELECT guard(NULL, 'balance')$$);
SELECT * FROM tg_try($$SELECT guard('g_accounts', NULL)$$);
SELECT * FROM tg_try($$SELECT unguard(NULL, 'balance')$$);
SELECT * FROM tg_try($$SELECT unguard('g_accounts', NULL)$$);
-- refused: a table that does not exist (by name and by OID)
SELECT * FROM tg_try($$SELECT guard('no_such_table', 'balance')$$);
SELECT * FROM tg_try($$SELECT guard(4000000000::oid::regclass, 'balance')$$);

-- refused: a table without a single-column key
CREATE TABLE g_nokey (id bigint, balance bigint);
SELECT * FROM tg_try($$SELECT guard('g_nokey', 'balance')$$);
CREATE TABLE g_compound (a int, b int, balance bigint, PRIMARY KEY (a, b));
SELECT * FROM tg_try($$SELECT guard('g_compound', 'balance')$$);
-- a unique index on a nullable column is not a key either
CREATE TABLE g_nullable (code text UNIQUE, balance bigint);
SELECT * FROM tg_try($$SELECT guard('g_nullable', 'balance')$$);
-- but a unique index on a NOT NULL column is
CREATE TABLE g_unique (code text NOT NULL UNIQUE, balance bigint);
INSERT INTO g_unique VALUES ('x', 5), ('y', 0);
SELECT guard('g_unique', 'balance');
SELECT * FROM transfer('g_unique', 'x', 'y', 5);

-- refused: views, sequences
CREATE VIEW g_view AS SELECT * FROM g_accounts;
SELECT * FROM tg_try($$SELECT guard('g_view', 'balance')$$);

-- every accepted balance type
CREATE TABLE g_types (id int PRIMARY KEY, s smallint, i integer, b bigint,
					  n numeric, n2 numeric(12,2));
SELECT guard('g_types', 's'), guard('g_types', 'i'), guard('g_types', 'b'),
	   guard('g_types', 'n'), guard('g_types', 'n2');
SELECT balance_column FROM transfer_guards WHERE tbl = 'g_types'::regclass
 ORDER BY 1;

-- a domain over an accepted type is accepted
CREATE DOMAIN g_money AS bigint CHECK (VALUE < 1000000);
CREATE TABLE g_domain (id int PRIMARY KEY, balance g_money NOT NULL);
SELECT guard('g_domain', 'balance');

-- dropping a guarded column or table forgets its guard
ALTER TABLE g_types DROP COLUMN s;
SELECT balance_column FROM transfer_guards WHERE tbl = 'g_types'::regclass
 ORDER BY 1;
DROP TABLE g_types;
SELECT count(*) FROM transfer_guards WHERE tbl::text = 'g_types';
SELECT count(*) AS dangling FROM transfer_guard_registry r
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = r.tbl);

-- a schema dropped with CASCADE takes its guards along
CREATE SCHEMA g_schema;
CREATE TABLE g_schema.t (id int PRIMARY KEY, balance int);
SELECT guard('g_schema.t', 'balance');
DROP SCHEMA g_schema CASCADE;
SELECT count(*) AS dangling FROM transfer_guard_registry r
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = r.tbl);

-- guard() takes effect in the same transaction, and rolls back with it
BEGIN;
SELECT unguard('g_accounts', 'balance');
SELECT * FROM tg_try($$SELECT * FROM transfer('g_accounts', 1, 2, 1)$$);
ROLLBACK;
SELECT * FROM transfer('g_accounts', 1, 2, 1);

DROP VIEW g_view;
DROP TABLE g_accounts, g_nokey, g_compound, g_nullable, g_unique, g_domain;
DROP DOMAIN g_money;
