--
-- test/stress/setup.sql -- schema and functions of the bank invariant stress
--
-- Run once per database by test/stress/bank.sh.  Two guarded tables hold the
-- money:
--
--   bank    bigint balances, floor 0 and a ceiling (guard(.., 0, 250)),
--           every account starting at 100
--   ledger  numeric(14,2) balances, an overdraft floor of -500 and no
--           ceiling, every account starting at 0.00; accounts 1 and 2 are
--           hot (set_hot()): a credit to them is a pending credit
--           (transfer_guard_pending, to_balance NULL in the journal) until a
--           settle() or a debit of the account folds it into the column;
--           account 2 also has 4 escrow slots (transfer_guard_slots), which
--           hold what it has above its floor: a debit that one slot covers
--           takes that slot and leaves the row alone (from_balance NULL),
--           any other locks every slot and the row and fills the slots
--           again (from_balance the row's total: column and slots)
--
-- The balance columns are deliberately nullable: the "no balance is NULL"
-- check must be able to fail, so no NOT NULL constraint does its work for it.
--
-- Transfer clients (pgbench, transfer.sql) call stress_step(), which makes one
-- transfer() or one transfer_batch() call, counts it as done or refused, and
-- checks what it can see from inside its own transaction.  Auditor clients
-- (pgbench, audit.sql) call stress_audit() inside one REPEATABLE READ
-- snapshot.  Settle clients (pgbench, settle.sql) call stress_settle(), which
-- calls settle() and counts what it folded.  Hold clients (pgbench,
-- hold.sql) call stress_hold_step(), which places a hold (hold()) or acts on
-- one (capture(), try_capture(), release(), release_expired()), counts what
-- the call answered, and checks the hold's record and journal rows under the
-- lock the step keeps on the record.  Transfer clients, hold clients and
-- auditors record every violation in stress_violations and return how many
-- they found; the pgbench scripts then make the client fail.
--
-- With hot rows an account's balance is its column plus its pending
-- credits plus its slots: that sum is what the checks compare with the
-- start, the journal, the total and current_balance(); neither the column
-- alone nor that sum may go below the floor, nor a slot below 0.  A hold
-- stays within one table; the money it holds (transfer_guard_hold, state
-- held) counts in that table's total.
--
-- The expected figures (accounts, total, floor, ceiling, hot accounts and
-- their slots) are written to stress_expect by stress_reset(), next to the
-- guard() and set_hot() calls that set the limits and mark the hot accounts;
-- the checks compare against them, never against what the extension reports
-- about its own guards.  The journal (transfer_guard_journal) is checked
-- against what each call returned and against the balances, the pending
-- credits (transfer_guard_pending) against the journal, the slots
-- (transfer_guard_slots) against the hot accounts, and the holds' records
-- (transfer_guard_hold) against the journal's rows of holds.
--
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION transfer_guard;
CREATE EXTENSION amcheck;

CREATE TABLE bank (id int PRIMARY KEY, balance bigint);
CREATE TABLE ledger (id int PRIMARY KEY, balance numeric(14, 2));

-- what every snapshot must show, per table
CREATE TABLE stress_expect (
	tbl regclass PRIMARY KEY,
	accounts int NOT NULL,
	start_balance numeric NOT NULL,
	total numeric NOT NULL,
	floor numeric,				-- NULL: none
	ceiling numeric,			-- NULL: none
	hot_keys text[] NOT NULL,	-- the hot accounts (set_hot()), as keys
	slot_keys text[] NOT NULL,	-- those of them with escrow slots
	slots int NOT NULL,			-- how many slots each of those has
	journal_after bigint NOT NULL	-- the shape's journal rows have higher ids
);

-- per-client counters, written in the client's own transaction, so a count
-- commits exactly when the work it counts commits; each client touches only
-- its own rows, so the counters add no lock contention between clients
CREATE UNLOGGED TABLE stress_counts (
	client int NOT NULL,
	kind text NOT NULL,
	n bigint NOT NULL,
	PRIMARY KEY (client, kind)
);

CREATE TABLE stress_violations (
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	who text NOT NULL,
	what text NOT NULL
);

CREATE FUNCTION stress_count(client int, kind text, howmany bigint DEFAULT 1)
RETURNS void
LANGUAGE sql
AS $$
	INSERT INTO stress_counts AS c VALUES (client, kind, howmany)
	ON CONFLICT (client, kind) DO UPDATE SET n = c.n + excluded.n;
$$;

-- record one violation; returns 1 so callers can add it up
CREATE FUNCTION stress_note(who text, what text)
RETURNS int
LANGUAGE plpgsql
AS $$
BEGIN
	INSERT INTO stress_violations (who, what) VALUES (who, what);
	RETURN 1;
END;
$$;

-- the failure a pgbench script raises after a committed violation: it aborts
-- the client, so pgbench exits non-zero
CREATE FUNCTION stress_fail(who text, violations int)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION 'bank invariant violated: % found % violation(s)', who, violations
		USING ERRCODE = 'P0001',
			  HINT = 'SELECT * FROM stress_violations lists them.';
END;
$$;

-- a balance within its table's limits (and not NULL)
CREATE FUNCTION stress_within(t regclass, bal numeric)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
	SELECT bal IS NOT NULL
		AND (e.floor IS NULL OR bal >= e.floor)
		AND (e.ceiling IS NULL OR bal <= e.ceiling)
	FROM stress_expect e
	WHERE e.tbl = t;
$$;

-- the balance a row holds now, as this transaction sees it
CREATE FUNCTION stress_balance(t regclass, id int)
RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
	bal numeric;
BEGIN
	EXECUTE format('SELECT balance FROM %s WHERE id = $1', t) INTO bal USING id;
	RETURN bal;
END;
$$;

-- what a row holds now, column and slots, as this transaction sees it: the
-- balance a call returns for a row it has locked (with all its slots)
CREATE FUNCTION stress_total(t regclass, id int)
RETURNS numeric
LANGUAGE plpgsql
AS $$
BEGIN
	RETURN stress_balance(t, id)
		+ (SELECT coalesce(sum(x.amount), 0) FROM transfer_guard_slots x
		   WHERE x.tbl = t AND x.key = id::text);
END;
$$;

-- Fill both tables: n accounts each.  Starts a shape from scratch.
CREATE FUNCTION stress_reset(n int)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	last_id bigint;
	hot text[] := '{1,2}';
	slotted text[] := '{2}';
	nslots int := 4;
	k text;
BEGIN
	TRUNCATE bank, ledger, stress_expect, stress_counts, stress_violations;
	-- pending credits and slots the last shape left would be counted in this
	-- one (set_hot() puts a row's old slots back into it)
	DELETE FROM transfer_guard_pending WHERE tbl IN ('bank'::regclass, 'ledger'::regclass);
	DELETE FROM transfer_guard_slots WHERE tbl IN ('bank'::regclass, 'ledger'::regclass);
	-- and so would the holds it left open
	DELETE FROM transfer_guard_hold WHERE from_table IN ('bank'::regclass, 'ledger'::regclass);
	INSERT INTO bank SELECT g, 100 FROM generate_series(1, n) g;
	INSERT INTO ledger SELECT g, 0.00 FROM generate_series(1, n) g;
	PERFORM guard('bank', 'balance', 0, 250, journal => true);
	PERFORM guard('ledger', 'balance', -500, NULL, journal => true);
	-- a slotted account's 500.00 above the floor go into its slots, 125.00
	-- each, its column keeping the floor
	FOREACH k IN ARRAY hot LOOP
		PERFORM set_hot('ledger', k, slots => CASE WHEN k = ANY (slotted) THEN nslots ELSE 0 END);
	END LOOP;
	-- transfer ids grow, so the journal rows of this shape are those above
	-- the highest id journaled so far
	SELECT coalesce(max(transfer_id), 0) INTO last_id FROM transfer_guard_journal;
	INSERT INTO stress_expect VALUES
		('bank', n, 100, n * 100::numeric, 0, 250, '{}', '{}', 0, last_id),
		('ledger', n, 0, 0, -500, NULL, hot, slotted, nslots, last_id);
END;
$$;

-- is key k of table t hot, as stress_reset() marked it?
CREATE FUNCTION stress_is_hot(t regclass, k text)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
	SELECT coalesce(k = ANY (e.hot_keys), false) FROM stress_expect e WHERE e.tbl = t;
$$;

-- has key k of table t escrow slots, as stress_reset() gave it?
CREATE FUNCTION stress_is_slotted(t regclass, k text)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
	SELECT coalesce(k = ANY (e.slot_keys), false) FROM stress_expect e WHERE e.tbl = t;
$$;

-- How the call whose writes carry the transaction id cx (the xmin of its
-- journal rows: the subtransaction of stress_single() or stress_batch())
-- used the slotted account k of table t, as this transaction sees it after
-- the call: served (a debit served by a slot) must have neither written
-- nor locked the row (the slot it took is written in a subtransaction of
-- its own, so its xid is not cx); otherwise (a combine) it must have
-- locked or written every slot and the row.  NULL if so, else what it did.
CREATE FUNCTION stress_slot_use(t regclass, k text, cx xid, served boolean)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	written int;
	touched int;
	n int;
	row_touched boolean;
BEGIN
	SELECT count(*) FILTER (WHERE x.xmin = cx),
		   count(*) FILTER (WHERE x.xmin = cx OR x.xmax = cx),
		   count(*)
	INTO written, touched, n
	FROM transfer_guard_slots x WHERE x.tbl = t AND x.key = k;
	EXECUTE format('SELECT xmin = $1 OR xmax = $1 FROM %s WHERE id = $2', t)
		INTO row_touched USING cx, k::int;
	-- (a slot taken is written in a subtransaction of its own, whose xid
	-- is not cx: served, only the row is looked at)
	IF served AND row_touched THEN
		RETURN format('served by a slot, but the call locked or wrote the row (and %s of its %s slots)',
					  touched, n);
	ELSIF NOT served AND (touched <> n OR NOT row_touched) THEN
		RETURN format('combined, but the call locked %s of its %s slots and %s the row',
					  touched, n, CASE WHEN row_touched THEN 'locked or wrote' ELSE 'left' END);
	END IF;
	RETURN NULL;
END;
$$;

-- the transaction id the writes of the call that journaled transfer id
-- carry
CREATE FUNCTION stress_call_xid(id bigint)
RETURNS xid
LANGUAGE sql
AS $$
	SELECT j.xmin FROM transfer_guard_journal j WHERE j.transfer_id = id;
$$;

-- the pending credit of one deferred credit, as this transaction sees it:
-- exactly one row with its transfer id, table, key and amount
CREATE FUNCTION stress_pending_ok(t regclass, k text, amount numeric, id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
	SELECT count(*) = 1 AND bool_and(p.tbl = t AND p.key = k AND p.amount = stress_pending_ok.amount)
	FROM transfer_guard_pending p WHERE p.transfer_id = id;
$$;

-- One transfer() on table t, a -> b.  A refusal for the floor or the ceiling
-- (23514 with the guard's constraint name) is expected and counted (a
-- refusal of a debit of a slotted account, which only a combine can refuse,
-- as such too); every other error propagates and aborts the client.  After
-- a move, the balances it returned must be within the limits and equal to
-- what the two rows now hold, column and slots (this transaction still has
-- them locked, and all the slots of a slotted one), and the journal must
-- hold the move as returned.  A credit to a hot account must be deferred:
-- no balance returned or journaled for it, and one pending credit of the
-- amount with the transfer's id.  A debit of a slotted account returns no
-- balance when a slot served it, which then must be the only slot the call
-- wrote, the row left alone; when it returns one, the call combined: it
-- locked every slot and the row (stress_slot_use()).  Only such a debit
-- may return no balance.  Returns the number of violations found.
CREATE FUNCTION stress_single(client int, t regclass, a int, b int, amount numeric)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
	cname text;
	v int := 0;
	who text := format('transfer client %s', client);
	deferred boolean := stress_is_hot(t, b::text);
	slotted boolean := stress_is_slotted(t, a::text);
	served boolean;
	misuse text;
BEGIN
	BEGIN
		SELECT * INTO STRICT r FROM transfer(t, a, b, amount);
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname = 'transfer_guard_min_balance' THEN
			PERFORM stress_count(client, 'single_refused_floor');
			IF slotted THEN
				PERFORM stress_count(client, 'combine_refused');
			END IF;
			RETURN 0;
		ELSIF cname = 'transfer_guard_max_balance' THEN
			PERFORM stress_count(client, 'single_refused_ceiling');
			RETURN 0;
		END IF;
		RAISE;
	END;
	PERFORM stress_count(client, 'single_ok');
	served := slotted AND r.from_balance IS NULL;

	IF r.transfer_id IS NULL THEN
		v := v + stress_note(who, format('%s %s -> %s: NULL transfer_id', t, a, b));
	END IF;
	IF NOT (served OR stress_within(t, r.from_balance))
		OR NOT (CASE WHEN deferred THEN r.to_balance IS NULL ELSE stress_within(t, r.to_balance) END) THEN
		v := v + stress_note(who, format('%s %s -> %s amount %s returned balances %s, %s: outside the limits or missing%s',
										 t, a, b, amount, r.from_balance, r.to_balance,
										 CASE WHEN deferred THEN ', or a balance for a deferred credit' END));
	END IF;
	PERFORM FROM transfer_guard_journal j
	WHERE j.transfer_id = r.transfer_id AND j.batch_id IS NULL AND j.leg = 1
		AND j.from_table = t AND j.from_key = a::text
		AND j.to_table = t AND j.to_key = b::text
		AND j.amount = stress_single.amount
		AND j.from_balance IS NOT DISTINCT FROM r.from_balance
		AND j.to_balance IS NOT DISTINCT FROM r.to_balance;
	IF NOT FOUND THEN
		v := v + stress_note(who, format('%s %s -> %s amount %s: transfer %s not journaled as returned',
										 t, a, b, amount, r.transfer_id));
	END IF;
	IF deferred AND NOT stress_pending_ok(t, b::text, amount, r.transfer_id) THEN
		v := v + stress_note(who, format('%s %s -> %s amount %s: transfer %s to a hot account has no pending credit as made',
										 t, a, b, amount, r.transfer_id));
	END IF;
	IF slotted THEN
		misuse := stress_slot_use(t, a::text, stress_call_xid(r.transfer_id), served);
		IF misuse IS NOT NULL THEN
			v := v + stress_note(who, format('%s %s -> %s amount %s: transfer %s from a slotted account, from_balance %s: %s',
											 t, a, b, amount, r.transfer_id, r.from_balance, misuse));
		END IF;
	END IF;
	-- the credited row of a deferred credit, and the debited row of a debit
	-- a slot served, are not locked: not compared
	IF (NOT served AND stress_total(t, a) IS DISTINCT FROM r.from_balance)
		OR (NOT deferred AND stress_total(t, b) IS DISTINCT FROM r.to_balance) THEN
		v := v + stress_note(who, format('%s %s -> %s: returned %s, %s but the rows hold %s, %s (column and slots)',
										 t, a, b, r.from_balance, r.to_balance,
										 stress_total(t, a), stress_total(t, b)));
	END IF;
	RETURN v;
END;
$$;

-- Aim a move a -> b on table t at its hot accounts, if it has any: 17
-- times in 100 the credit goes to one without slots, 8 times in 100 to one
-- with slots; 3 times in 40 the debit comes from one without slots, 8 times
-- in 100 from one with slots (the other side stays as it was, unless it is
-- the same account); otherwise the move stays between a and b.  More
-- credits than debits for the accounts without slots, so that credits pile
-- up between two settles; as many as debits for those with slots, so that
-- their balance stays near the floor: small debits are served by a slot,
-- larger ones combine, and some of those are refused.  (A combine holds
-- the row and its slots until it commits: more debits of a slotted
-- account than this make the shapes with many clients crawl.)
CREATE FUNCTION stress_aim(t regclass, INOUT a int, INOUT b int)
LANGUAGE plpgsql
AS $$
DECLARE
	e stress_expect;
	pick text[];
	h int;
	coin float8 := random();
BEGIN
	SELECT * INTO STRICT e FROM stress_expect WHERE tbl = t;
	IF coin < 0.17 OR (coin >= 0.25 AND coin < 0.325) THEN
		pick := ARRAY(SELECT k FROM unnest(e.hot_keys) k WHERE NOT (k = ANY (e.slot_keys)));
	ELSIF coin < 0.405 THEN
		pick := e.slot_keys;
	END IF;
	IF coalesce(cardinality(pick), 0) = 0 THEN
		RETURN;
	END IF;
	h := pick[1 + floor(random() * cardinality(pick))::int]::int;
	IF coin < 0.25 THEN
		b := h;
		IF a = b THEN
			a := b % e.accounts + 1;
		END IF;
	ELSE
		a := h;
		IF a = b THEN
			b := a % e.accounts + 1;
		END IF;
	END IF;
END;
$$;

-- One transfer_batch() of nlegs legs, each on bank or ledger at random; about
-- half the legs after the first reverse the previous leg (b -> a after
-- a -> b), so batches move money both ways and overlap in both orders; the
-- others are aimed at the hot accounts nearly half the time (stress_aim()).
-- Refusals are counted as above.  After a batch: every leg reported once and
-- journaled as reported (with the batch's first transfer id as batch_id),
-- every returned balance within its table's limits, every touched row holds
-- (column and slots) the balance reported by the last leg that touched it,
-- and a credit to a hot account that no leg debits was deferred (no balance
-- reported, one pending credit with the leg's transfer id), any other was
-- not.  The debits of a slotted account that the batch does not credit are
-- served by one slot (no balance reported for any of them; stress_slot_use()
-- checks the slot and the row as for a single transfer) or combine (a
-- balance reported for each); those of one it credits too combine.
CREATE FUNCTION stress_batch(client int, nlegs int)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	legs jsonb := '[]';
	tbls regclass[] := '{}';
	t regclass;
	n int;
	a int;
	b int;
	amount numeric;
	i int;
	res jsonb;
	got jsonb;				-- the row transfer_batch() returned for a leg
	lastbal jsonb := '{}';		-- "table/key" -> balance after the last leg touching it
	deferred boolean[] := '{}';	-- leg i's credit is to be deferred
	servable boolean[] := '{}';	-- leg i's debit may be served by a slot
	served boolean;
	slotuse jsonb := '{}';		-- "table/key" of a slotted account debited -> served
	misuse text;
	k text;
	cname text;
	v int := 0;
	who text := format('transfer client %s', client);
BEGIN
	FOR i IN 1..nlegs LOOP
		IF i > 1 AND random() < 0.5 THEN
			SELECT b, a INTO a, b;		-- the previous leg's pair, reversed
		ELSE
			t := CASE WHEN random() < 0.5 THEN 'bank' ELSE 'ledger' END::regclass;
			SELECT accounts INTO n FROM stress_expect WHERE tbl = t;
			a := 1 + floor(random() * n)::int;
			b := 1 + (a + floor(random() * (n - 1))::int) % n;
			SELECT * INTO a, b FROM stress_aim(t, a, b);
		END IF;
		IF t = 'bank'::regclass THEN
			amount := 1 + floor(random() * 250);
		ELSE
			amount := (1 + floor(random() * 60000)) / 100.0;
		END IF;
		legs := legs || jsonb_build_object('from_table', t::text, 'from_key', a,
										   'to_key', b, 'amount', amount);
		tbls := tbls || t;
	END LOOP;
	-- a credit to a hot account is deferred unless the batch debits it too;
	-- a debit of a slotted account may be served by a slot unless the batch
	-- credits it too
	FOR i IN 1..nlegs LOOP
		deferred := deferred || (stress_is_hot(tbls[i], legs -> (i - 1) ->> 'to_key')
			AND NOT EXISTS (SELECT FROM generate_series(1, nlegs) j
							WHERE tbls[j] = tbls[i]
								AND legs -> (j - 1) ->> 'from_key' = legs -> (i - 1) ->> 'to_key'));
		servable := servable || (stress_is_slotted(tbls[i], legs -> (i - 1) ->> 'from_key')
			AND NOT EXISTS (SELECT FROM generate_series(1, nlegs) j
							WHERE tbls[j] = tbls[i]
								AND legs -> (j - 1) ->> 'to_key' = legs -> (i - 1) ->> 'from_key'));
	END LOOP;

	BEGIN
		SELECT jsonb_agg(to_jsonb(x) ORDER BY x.leg) INTO res FROM transfer_batch(legs) x;
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname = 'transfer_guard_min_balance' THEN
			PERFORM stress_count(client, 'batch_refused_floor');
			RETURN 0;
		ELSIF cname = 'transfer_guard_max_balance' THEN
			PERFORM stress_count(client, 'batch_refused_ceiling');
			RETURN 0;
		END IF;
		RAISE;
	END;
	PERFORM stress_count(client, 'batch_ok');
	PERFORM stress_count(client, 'batch_legs', nlegs);

	IF jsonb_array_length(coalesce(res, '[]')) <> nlegs THEN
		RETURN v + stress_note(who, format('batch of %s legs returned %s rows: %s', nlegs,
										   jsonb_array_length(coalesce(res, '[]')), legs));
	END IF;
	FOR i IN 1..nlegs LOOP
		got := res -> (i - 1);
		t := tbls[i];
		served := servable[i] AND got ->> 'from_balance' IS NULL;
		IF (got ->> 'leg')::int IS DISTINCT FROM i OR got -> 'transfer_id' = 'null' THEN
			v := v + stress_note(who, format('batch row %s is %s', i, got));
		END IF;
		PERFORM FROM transfer_guard_journal j
		WHERE j.transfer_id = (got ->> 'transfer_id')::bigint
			AND j.batch_id = (res -> 0 ->> 'transfer_id')::bigint AND j.leg = i
			AND j.from_table = t AND j.from_key = legs -> (i - 1) ->> 'from_key'
			AND j.to_table = t AND j.to_key = legs -> (i - 1) ->> 'to_key'
			AND j.amount = (legs -> (i - 1) ->> 'amount')::numeric
			AND j.from_balance IS NOT DISTINCT FROM (got ->> 'from_balance')::numeric
			AND j.to_balance IS NOT DISTINCT FROM (got ->> 'to_balance')::numeric;
		IF NOT FOUND THEN
			v := v + stress_note(who, format('batch leg %s %s (%s) not journaled as returned',
											 i, legs -> (i - 1), got));
		END IF;
		IF NOT (served OR stress_within(t, (got ->> 'from_balance')::numeric))
			OR NOT (CASE WHEN deferred[i] THEN got ->> 'to_balance' IS NULL
					ELSE stress_within(t, (got ->> 'to_balance')::numeric) END) THEN
			v := v + stress_note(who, format('batch leg %s %s returned balances outside the limits or missing%s: %s',
											 i, legs -> (i - 1),
											 CASE WHEN deferred[i] THEN ', or a balance for a deferred credit' END,
											 got));
		END IF;
		IF deferred[i] AND NOT stress_pending_ok(t, legs -> (i - 1) ->> 'to_key',
												 (legs -> (i - 1) ->> 'amount')::numeric,
												 (got ->> 'transfer_id')::bigint) THEN
			v := v + stress_note(who, format('batch leg %s %s (%s) to a hot account has no pending credit as made',
											 i, legs -> (i - 1), got));
		END IF;
		IF stress_is_slotted(t, legs -> (i - 1) ->> 'from_key') THEN
			k := t::text || '/' || (legs -> (i - 1) ->> 'from_key');
			IF slotuse ? k AND (slotuse -> k)::boolean <> served THEN
				v := v + stress_note(who, format('batch %s (%s): some debits of %s served by a slot, some not',
												 legs, res, k));
			END IF;
			slotuse := slotuse || jsonb_build_object(k, served);
		END IF;
		-- the debited row of a debit a slot served is not locked: not
		-- compared
		IF NOT served THEN
			lastbal := lastbal
				|| jsonb_build_object(t::text || '/' || (legs -> (i - 1) ->> 'from_key'), got -> 'from_balance');
		END IF;
		-- nor the credited row of a deferred credit
		IF NOT deferred[i] THEN
			lastbal := lastbal
				|| jsonb_build_object(t::text || '/' || (legs -> (i - 1) ->> 'to_key'), got -> 'to_balance');
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(slotuse) LOOP
		misuse := stress_slot_use(split_part(k, '/', 1)::regclass, split_part(k, '/', 2),
								  stress_call_xid((res -> 0 ->> 'transfer_id')::bigint),
								  (slotuse -> k)::boolean);
		IF misuse IS NOT NULL THEN
			v := v + stress_note(who, format('batch %s (%s), slotted account %s: %s', legs, res, k, misuse));
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(lastbal) LOOP
		IF stress_total(split_part(k, '/', 1)::regclass, split_part(k, '/', 2)::int)
			IS DISTINCT FROM (lastbal ->> k)::numeric THEN
			v := v + stress_note(who, format('after batch %s row %s holds %s (column and slots), the batch reported %s',
											 legs, k,
											 stress_total(split_part(k, '/', 1)::regclass,
														  split_part(k, '/', 2)::int),
											 lastbal ->> k));
		END IF;
	END LOOP;
	RETURN v;
END;
$$;

-- What one pgbench transfer transaction does, chosen by kind (1..10):
-- 1-5 a transfer on bank, 6-8 a transfer on ledger (nearly half of them to
-- or from a hot account, stress_aim()), 9-10 a batch.
CREATE FUNCTION stress_step(client int, kind int, a int, b int, amount int, cents int, legs int)
RETURNS int
LANGUAGE plpgsql
AS $$
BEGIN
	IF kind <= 5 THEN
		RETURN stress_single(client, 'bank', a, b, amount);
	ELSIF kind <= 8 THEN
		SELECT * INTO a, b FROM stress_aim('ledger', a, b);
		RETURN stress_single(client, 'ledger', a, b, cents / 100.0);
	ELSE
		RETURN stress_batch(client, legs);
	END IF;
END;
$$;

-- Holds (hold clients, hold.sql, and the expiring client, expire.sql).  A
-- hold's destination is another account of the table of its source, so
-- each table keeps a total of its own: its balances (column, pending credits
-- and slots) plus the amounts its holds still hold.  Hold clients number
-- themselves from 1000 in stress_counts, the expiring client from 2000;
-- their outcomes are counted under kinds starting with "hold:" and
-- "expire:" (one per pgbench transaction), what else they saw under
-- "hold+".

-- a probe row per hold client, rewritten in the subtransaction of a step
-- on a hold, so that the hold's record carries the same xmin when that
-- step wrote it
CREATE UNLOGGED TABLE stress_probe (
	client int PRIMARY KEY,
	n bigint NOT NULL
);

-- Did the current subtransaction write the record of hold h (capture,
-- release or expire it)?  Called from within the step's subtransaction.
CREATE FUNCTION stress_wrote_hold(who int, h bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	mine xid;
BEGIN
	INSERT INTO stress_probe AS p VALUES (who, 1)
	ON CONFLICT (client) DO UPDATE SET n = p.n + 1
	RETURNING xmin INTO mine;
	RETURN EXISTS (SELECT FROM transfer_guard_hold x WHERE x.hold_id = h AND x.xmin = mine);
END;
$$;

-- One of the 30 latest holds of the shape (the pick-th), or NULL when
-- there are not that many yet: most are still held, some captured,
-- released or expired already, and the hold clients often pick the same.
CREATE FUNCTION stress_pick_hold(pick int)
RETURNS bigint
LANGUAGE sql
AS $$
	SELECT h.hold_id FROM transfer_guard_hold h
	WHERE h.hold_id > (SELECT min(journal_after) FROM stress_expect)
	ORDER BY h.hold_id DESC OFFSET pick LIMIT 1;
$$;

-- One hold() on table t, a -> b, expiring after expires_in (NULL: never);
-- with keyed, under an idempotency key, and placed again with that key,
-- which must replay it (the same hold id and balance, nothing new).  A
-- refusal for the floor is counted; any other error aborts the client.
-- After a hold: its record holds what was asked (state held, expires_at
-- its created_at plus expires_in, placed by this role); the journal holds
-- its hold row (its id, the source, no destination, the amount, the
-- balance returned); that balance is within the limits and what the row
-- holds now (column and slots: it is locked), unless a slot served the
-- debit (a slotted source, no balance).  Returns the number of violations.
CREATE FUNCTION stress_hold(client int, t regclass, a int, b int, amount numeric,
							expires_in interval, keyed boolean)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
	again record;
	ikey text := CASE WHEN keyed THEN gen_random_uuid()::text END;
	cname text;
	served boolean;
	v int := 0;
	who text := format('hold client %s', client);
BEGIN
	BEGIN
		SELECT * INTO STRICT r
		FROM hold(t, a, b, amount, expires_in => expires_in, idempotency_key => ikey);
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname = 'transfer_guard_min_balance' THEN
			PERFORM stress_count(client, 'hold:hold_refused_floor');
			RETURN 0;
		END IF;
		RAISE;
	END;
	PERFORM stress_count(client, 'hold:hold_placed');
	IF expires_in IS NOT NULL THEN
		PERFORM stress_count(client, 'hold+expiring');
	END IF;
	served := stress_is_slotted(t, a::text) AND r.from_balance IS NULL;

	IF keyed THEN
		SELECT * INTO STRICT again
		FROM hold(t, a, b, amount, expires_in => expires_in, idempotency_key => ikey);
		PERFORM stress_count(client, 'hold+replayed');
		IF again.hold_id IS DISTINCT FROM r.hold_id
			OR again.from_balance IS DISTINCT FROM r.from_balance THEN
			v := v + stress_note(who, format('hold %s %s -> %s amount %s: placed as %s (balance %s), replayed as %s (balance %s)',
											 t, a, b, amount, r.hold_id, r.from_balance,
											 again.hold_id, again.from_balance));
		END IF;
	END IF;

	PERFORM FROM transfer_guard_hold h
	WHERE h.hold_id = r.hold_id AND h.state = 'held'
		AND h.from_table = t AND h.from_key = a::text
		AND h.to_table = t AND h.to_key = b::text
		AND h.amount = stress_hold.amount
		AND (h.expires_at IS NULL) = (expires_in IS NULL)
		AND h.expires_at IS NOT DISTINCT FROM h.created_at + expires_in
		AND h.placed_by::text = current_user::text
		AND h.captured IS NULL AND h.transfer_id IS NULL AND h.closed_at IS NULL;
	IF NOT FOUND THEN
		v := v + stress_note(who, format('hold %s %s -> %s amount %s expiring after %s: its record %s is not as placed',
										 t, a, b, amount, expires_in,
										 (SELECT to_jsonb(h) FROM transfer_guard_hold h WHERE h.hold_id = r.hold_id)));
	END IF;
	PERFORM FROM transfer_guard_journal j
	WHERE j.transfer_id = r.hold_id AND j.kind = 'hold' AND j.hold_id = r.hold_id
		AND j.from_table = t AND j.from_key = a::text
		AND j.to_table IS NULL AND j.to_key IS NULL
		AND j.amount = stress_hold.amount
		AND j.from_balance IS NOT DISTINCT FROM r.from_balance AND j.to_balance IS NULL;
	IF NOT FOUND THEN
		v := v + stress_note(who, format('hold %s %s -> %s amount %s: hold %s not journaled as returned',
										 t, a, b, amount, r.hold_id));
	END IF;
	IF NOT (served OR stress_within(t, r.from_balance))
		OR (NOT served AND stress_total(t, a) IS DISTINCT FROM r.from_balance) THEN
		v := v + stress_note(who, format('hold %s %s -> %s amount %s returned balance %s, the row holds %s (column and slots)',
										 t, a, b, amount, r.from_balance, stress_total(t, a)));
	END IF;
	RETURN v;
END;
$$;

-- What a step that moved money out of hold h returned for one of its rows
-- (key k of table t): a balance exactly when the row is not hot (a credit
-- to a hot row is deferred), within the limits and what the row holds now
-- (it is locked).  NULL if so, else what is wrong.
CREATE FUNCTION stress_hold_balance(t regclass, k text, bal numeric)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
	IF stress_is_hot(t, k) THEN
		IF bal IS NOT NULL THEN
			RETURN format('balance %s returned for hot row %s', bal, k);
		END IF;
	ELSIF NOT stress_within(t, bal) OR stress_total(t, k::int) IS DISTINCT FROM bal THEN
		RETURN format('balance %s returned for row %s, which holds %s', bal, k, stress_total(t, k::int));
	END IF;
	RETURN NULL;
END;
$$;

-- The journal rows after a hold's own that name it (those that end it:
-- kind capture, release or expire); a later step's rows are newer than the
-- hold, so the scan starts at its id.
CREATE FUNCTION stress_hold_ends(h bigint)
RETURNS SETOF transfer_guard_journal
LANGUAGE sql
AS $$
	SELECT * FROM transfer_guard_journal j
	WHERE j.transfer_id > h AND j.hold_id = h
	ORDER BY j.transfer_id;
$$;

-- the rows of stress_hold_ends(), as text for a message
CREATE FUNCTION stress_hold_ends_text(h bigint)
RETURNS text
LANGUAGE sql
AS $$
	SELECT coalesce(string_agg(format('%s %s to %s/%s amount %s balance %s', e.kind, e.transfer_id,
									  e.to_table, e.to_key, e.amount, e.to_balance), '; '), 'none')
	FROM stress_hold_ends(h) e;
$$;

-- One step on hold hid: what is 'capture' (amount NULL: all of it),
-- 'try_capture' or 'release'.  What the call answers depends on what the
-- other clients did to the hold first: each answer is counted (a status;
-- the error of a hold captured, released or expired; a ceiling; an amount
-- above the hold) and any other error aborts the client.  Afterwards the
-- step still holds the lock on the hold's record when it did not fail, so
-- its record and journal rows are checked as they are:
--   - a capture (by capture() or try_capture()): captured, with the amount
--     and the capture's transfer id; the journal rows that end the hold are
--     the capture (to the destination, the amount, the balance returned)
--     and, for a partial one, the rest (a release row to the source, the
--     source's balance returned); the balances as stress_hold_balance();
--   - a release: released, or expired when it was past its expiry (this
--     step expired it); one row of the whole amount to the source (kind
--     release or expire), the balance returned;
--   - try_capture() answering expired: the record says expired, with one
--     expire row of the whole amount to the source; this step wrote it
--     when it released the hold as expired (counted apart);
--   - an answer that the hold is captured, released or expired: its record
--     says so (captured: with the transfer id try_capture() returned);
--     limit_exceeded and exceeds_hold leave it held.
-- Counts what the step did; returns the number of violations.
CREATE FUNCTION stress_hold_act(client int, hid bigint, what text, amount numeric)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	h transfer_guard_hold;		-- as picked: its rows and amount never change
	x transfer_guard_hold;		-- after the step
	r record;
	s record;
	bal numeric;
	outcome text;
	wrote boolean := false;
	amt numeric;
	partial int;
	cname text;
	bad text;
	v int := 0;
	who text := format('hold client %s: %s(%s, %s)', client, what, hid, amount);
BEGIN
	SELECT * INTO STRICT h FROM transfer_guard_hold WHERE hold_id = hid;
	amt := coalesce(amount, h.amount);
	BEGIN
		IF what = 'capture' THEN
			SELECT * INTO STRICT r FROM capture(hid, amount);
			outcome := 'ok';
		ELSIF what = 'try_capture' THEN
			SELECT * INTO STRICT r FROM try_capture(hid, amount);
			outcome := r.status;
		ELSE
			bal := release(hid);
			outcome := 'ok';
		END IF;
		wrote := stress_wrote_hold(client, hid);
	EXCEPTION
		WHEN check_violation THEN
			GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
			IF cname <> 'transfer_guard_max_balance' THEN
				RAISE;
			END IF;
			outcome := 'refused_ceiling';
		WHEN invalid_parameter_value THEN
			IF what <> 'capture' OR amt <= h.amount THEN
				RAISE;
			END IF;
			outcome := 'refused_exceeds';
		WHEN SQLSTATE 'TG002' OR SQLSTATE 'TG003' OR SQLSTATE 'TG004' THEN
			IF what = 'try_capture' THEN
				RAISE;
			END IF;
			GET STACKED DIAGNOSTICS cname = RETURNED_SQLSTATE;
			outcome := CASE cname WHEN 'TG002' THEN 'refused_captured'
						 WHEN 'TG003' THEN 'refused_released' ELSE 'refused_expired' END;
	END;
	SELECT * INTO STRICT x FROM transfer_guard_hold WHERE hold_id = hid;

	IF outcome = 'ok' AND what <> 'release' THEN
		partial := (amt < h.amount)::int;
		outcome := CASE WHEN partial = 1 THEN 'ok_partial' ELSE 'ok_full' END;
		IF NOT wrote OR x.state <> 'captured' OR x.captured IS DISTINCT FROM amt
			OR x.transfer_id IS DISTINCT FROM r.transfer_id OR x.closed_at IS NULL THEN
			v := v + stress_note(who, format('captured as transfer %s, but the record is %s (written by this step: %s)',
											 r.transfer_id, to_jsonb(x), wrote));
		END IF;
		SELECT count(*) AS n,
			   count(*) FILTER (WHERE e.kind = 'capture' AND e.transfer_id = r.transfer_id
								AND e.to_table = h.to_table AND e.to_key = h.to_key AND e.amount = amt
								AND e.to_balance IS NOT DISTINCT FROM r.to_balance) AS capture,
			   count(*) FILTER (WHERE e.kind = 'release'
								AND e.to_table = h.from_table AND e.to_key = h.from_key
								AND e.amount = h.amount - amt
								AND e.to_balance IS NOT DISTINCT FROM r.from_balance) AS rest
		INTO s FROM stress_hold_ends(hid) e;
		IF s.n <> 1 + partial OR s.capture <> 1 OR s.rest <> partial THEN
			v := v + stress_note(who, format('captured (%s), but the journal rows that end the hold are: %s',
											 to_jsonb(r), stress_hold_ends_text(hid)));
		END IF;
		bad := stress_hold_balance(h.to_table, h.to_key, r.to_balance);
		IF partial = 1 THEN
			bad := nullif(concat_ws('; ', bad, stress_hold_balance(h.from_table, h.from_key, r.from_balance)), '');
		ELSIF r.from_balance IS NOT NULL THEN
			bad := nullif(concat_ws('; ', bad, format('a full capture returned a source balance %s', r.from_balance)), '');
		END IF;
		IF bad IS NOT NULL THEN
			v := v + stress_note(who, format('capture %s: %s', r.transfer_id, bad));
		END IF;
	ELSIF outcome = 'ok' THEN
		-- a release, or the expiry of a hold past its expiry
		IF x.state = 'expired' THEN
			outcome := 'expired_here';
		END IF;
		SELECT count(*) AS n,
			   count(*) FILTER (WHERE e.kind = CASE WHEN x.state = 'expired' THEN 'expire' ELSE 'release' END
								AND e.to_table = h.from_table AND e.to_key = h.from_key
								AND e.amount = h.amount AND e.to_balance IS NOT DISTINCT FROM bal) AS back
		INTO s FROM stress_hold_ends(hid) e;
		bad := stress_hold_balance(h.from_table, h.from_key, bal);
		IF NOT wrote OR x.state NOT IN ('released', 'expired') OR x.closed_at IS NULL
			OR (x.state = 'expired' AND NOT x.expires_at <= x.closed_at)
			OR s.n <> 1 OR s.back <> 1 OR bad IS NOT NULL THEN
			v := v + stress_note(who, format('released (balance %s: %s), but the record is %s (written by this step: %s) and the journal rows that end the hold are: %s',
											 bal, coalesce(bad, 'as it should be'), to_jsonb(x), wrote,
											 stress_hold_ends_text(hid)));
		END IF;
	ELSIF outcome = 'expired' THEN
		-- try_capture(): expired now by this step, or before
		IF wrote THEN
			outcome := 'expired_here';
		END IF;
		SELECT count(*) AS n,
			   count(*) FILTER (WHERE e.kind = 'expire' AND e.to_table = h.from_table
								AND e.to_key = h.from_key AND e.amount = h.amount) AS back
		INTO s FROM stress_hold_ends(hid) e;
		IF x.state <> 'expired' OR NOT x.expires_at <= x.closed_at OR s.n <> 1 OR s.back <> 1 THEN
			v := v + stress_note(who, format('answered expired, but the record is %s and the journal rows that end the hold are: %s',
											 to_jsonb(x), stress_hold_ends_text(hid)));
		END IF;
	ELSIF outcome = 'captured' THEN
		IF x.state <> 'captured' OR r.transfer_id IS DISTINCT FROM x.transfer_id THEN
			v := v + stress_note(who, format('answered captured (%s), but the record is %s',
											 to_jsonb(r), to_jsonb(x)));
		END IF;
	ELSIF outcome = 'refused_captured' THEN
		IF x.state <> 'captured' THEN
			v := v + stress_note(who, format('answered captured, but the record is %s', to_jsonb(x)));
		END IF;
	ELSIF outcome IN ('released', 'refused_released') THEN
		IF x.state <> 'released' THEN
			v := v + stress_note(who, format('answered %s, but the record is %s', outcome, to_jsonb(x)));
		END IF;
	ELSIF outcome = 'refused_expired' THEN
		-- capture() of a hold past its expiry: held (its error undid the
		-- release) or expired (already, or by another since)
		IF x.state NOT IN ('held', 'expired') OR NOT x.expires_at <= clock_timestamp() THEN
			v := v + stress_note(who, format('answered expired, but the record is %s', to_jsonb(x)));
		END IF;
	ELSIF outcome IN ('limit_exceeded', 'exceeds_hold') THEN
		IF x.state <> 'held' OR x.closed_at IS NOT NULL OR x.captured IS NOT NULL
			OR x.transfer_id IS NOT NULL OR (outcome = 'exceeds_hold' AND amt <= h.amount) THEN
			v := v + stress_note(who, format('answered %s for amount %s, but the record is %s',
											 outcome, amt, to_jsonb(x)));
		END IF;
	ELSIF outcome NOT IN ('refused_ceiling', 'refused_exceeds') THEN
		-- not_found, or a status no call returns: the hold exists
		v := v + stress_note(who, format('answered %s for hold %s', outcome, to_jsonb(x)));
	END IF;
	PERFORM stress_count(client, format('hold:%s_%s', what, outcome));
	RETURN v;
END;
$$;

-- One release_expired(), counted (under kinds starting with who: "hold:"
-- for a hold client, "expire:" for the expiring client) with what it
-- released.  A ceiling may refuse it (an expired hold whose source has
-- risen too close to its ceiling to take the amount back): counted too.
CREATE FUNCTION stress_release_expired(client int, who text)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	cname text;
BEGIN
	BEGIN
		n := release_expired();
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname <> 'transfer_guard_max_balance' THEN
			RAISE;
		END IF;
		PERFORM stress_count(client, who || 'release_expired_refused_ceiling');
		RETURN 0;
	END;
	PERFORM stress_count(client, who || 'release_expired_ok');
	PERFORM stress_count(client, 'hold+expired_by_release_expired', n);
	RETURN 0;
END;
$$;

-- After the load: release every hold past its expiry (as of the call's
-- start) that no client released, by one release_expired(), which finds
-- none locked now; then release() each one still held, which must be one
-- that a ceiling keeps held (its source has risen too close to its ceiling
-- to take it back).  Should a ceiling refuse the release_expired() call
-- itself, the release() of each does all the work.  Returns how many were
-- released, whether one by one, how many a ceiling kept, and how many
-- release_expired() left that release() could release (none may be).
CREATE FUNCTION stress_expire_at_end(OUT released bigint, OUT by_one boolean, OUT kept bigint,
									 OUT left_over bigint)
LANGUAGE plpgsql
AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	h bigint;
	cname text;
BEGIN
	kept := 0;
	left_over := 0;
	by_one := false;
	BEGIN
		released := release_expired();
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname <> 'transfer_guard_max_balance' THEN
			RAISE;
		END IF;
		by_one := true;
		released := 0;
	END;
	FOR h IN SELECT hold_id FROM transfer_guard_hold
			 WHERE state = 'held' AND expires_at <= t0 ORDER BY hold_id LOOP
		BEGIN
			PERFORM release(h);
			IF by_one THEN
				released := released + 1;
			ELSE
				left_over := left_over + 1;
			END IF;
		EXCEPTION WHEN check_violation THEN
			GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
			IF cname <> 'transfer_guard_max_balance' THEN
				RAISE;
			END IF;
			kept := kept + 1;
		END;
	END LOOP;
END;
$$;

-- What one pgbench hold transaction does, chosen by kind (1..20): 1-4 a
-- hold on bank, 5-8 on ledger (aimed at its hot accounts as transfers are,
-- stress_aim(), but for debits of the one without slots); then, on one of the latest holds: 9-10 capture() of all of
-- it, 11-12 of part of it, 13 of more than it holds; 14 try_capture() of
-- all, 15 of part, 16 of more than it holds; 17-19 release(), and 20
-- release_expired() (one time in five, so once in 100 transactions: more
-- often, it would leave few holds past their expiry for the steps on a
-- hold to find), else release().  With no hold to pick yet, a hold.  A hold expires
-- after ms milliseconds (expiry 7-10, so that some expire during the
-- shape), after an hour (5-6) or never (1-4); one in five is placed under
-- an idempotency key, and replayed.  Bank amounts are 1..120 against a
-- start of 100 and a ceiling of 250, ledger amounts 0.01..300.00 against a
-- start of 0 and a floor of -500.
CREATE FUNCTION stress_hold_step(client int, kind int, a int, b int, amount int, cents int,
								 expiry int, ms int, pick int)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	t regclass;
	hid bigint;
	h transfer_guard_hold;
	unit numeric;
	part numeric;
	aimed_a int;
	aimed_b int;
BEGIN
	client := 1000 + client;
	IF kind > 8 THEN
		hid := stress_pick_hold(pick);
	END IF;
	IF hid IS NULL THEN
		IF kind % 2 = 1 THEN
			t := 'bank';
		ELSE
			t := 'ledger';
			SELECT * INTO aimed_a, aimed_b FROM stress_aim(t, a, b);
			-- aimed at the hot accounts as transfers are, but for a debit
			-- of the hot account without slots: a hold keeps that row
			-- locked through all its checks, and a debit of it folds the
			-- credits the settle clients are there to fold
			IF aimed_a = a OR NOT stress_is_hot(t, aimed_a::text)
				OR stress_is_slotted(t, aimed_a::text) THEN
				a := aimed_a;
				b := aimed_b;
			END IF;
		END IF;
		RETURN stress_hold(client, t, a, b,
						   CASE WHEN t = 'bank'::regclass THEN amount ELSE round(cents / 100.0, 2) END,
						   CASE WHEN expiry <= 4 THEN NULL
								WHEN expiry <= 6 THEN interval '1 hour'
								ELSE make_interval(secs => ms / 1000.0) END,
						   random() < 0.2);
	ELSIF kind = 20 AND pick < 6 THEN
		RETURN stress_release_expired(client, 'hold:');
	ELSIF kind >= 17 THEN
		RETURN stress_hold_act(client, hid, 'release', NULL);
	END IF;
	SELECT * INTO STRICT h FROM transfer_guard_hold WHERE hold_id = hid;
	unit := CASE WHEN h.from_table = 'bank'::regclass THEN 1 ELSE 0.01 END;
	-- part of it: 1 unit up to all but 1 unit (all of it if that is 1 unit)
	part := greatest(unit, floor(random() * (h.amount / unit - 1)) * unit + unit);
	IF part >= h.amount THEN
		part := NULL;
	END IF;
	RETURN stress_hold_act(client, hid,
						   CASE WHEN kind <= 13 THEN 'capture' ELSE 'try_capture' END,
						   CASE WHEN kind IN (9, 10, 14) THEN NULL
								WHEN kind IN (13, 16) THEN h.amount + unit
								ELSE part END);
END;
$$;

-- The checks of one table as the current snapshot sees it; who names the
-- checker in the violations it records.  Returns the number of violations.
-- An account's balance is its column plus its pending credits plus its
-- slots (none but on a hot account); that balance and the column alone are
-- each held to the floor, and every slot to 0.
CREATE FUNCTION stress_check_table(e stress_expect, who text)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	s record;
	v int := 0;
BEGIN
	EXECUTE format($q$
		SELECT count(*) AS accounts,
			   sum(t.balance)
				   + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_pending WHERE tbl = $3)
				   + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_slots WHERE tbl = $3)
				   + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_hold
					  WHERE from_table = $3 AND hold_id > $4 AND state = 'held') AS total,
			   count(*) FILTER (WHERE t.balance IS NULL) AS nulls,
			   count(*) FILTER (WHERE t.balance < $1) AS below,
			   count(*) FILTER (WHERE t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0) < $1) AS below_exact,
			   count(*) FILTER (WHERE t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0) > $2) AS above,
			   min(t.balance) AS lo,
			   min(t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0)) AS lo_exact,
			   max(t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0)) AS hi
		FROM %s t
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
				   WHERE tbl = $3 GROUP BY key) p ON p.key = t.id::text
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_slots
				   WHERE tbl = $3 GROUP BY key) x ON x.key = t.id::text $q$, e.tbl)
		INTO s USING e.floor, e.ceiling, e.tbl, e.journal_after;
	IF s.accounts <> e.accounts THEN
		v := v + stress_note(who, format('%s has %s accounts, expected %s', e.tbl, s.accounts, e.accounts));
	END IF;
	IF s.total IS DISTINCT FROM e.total THEN
		v := v + stress_note(who, format('%s sums to %s (columns, pending credits, slots and open holds), expected %s',
										 e.tbl, s.total, e.total));
	END IF;
	IF s.nulls <> 0 THEN
		v := v + stress_note(who, format('%s has %s NULL balances', e.tbl, s.nulls));
	END IF;
	IF s.below <> 0 THEN
		v := v + stress_note(who, format('%s has %s balance columns below the floor %s (lowest %s)',
										 e.tbl, s.below, e.floor, s.lo));
	END IF;
	IF s.below_exact <> 0 THEN
		v := v + stress_note(who, format('%s has %s balances (column, pending credits and slots) below the floor %s (lowest %s)',
										 e.tbl, s.below_exact, e.floor, s.lo_exact));
	END IF;
	IF s.above <> 0 THEN
		v := v + stress_note(who, format('%s has %s balances above the ceiling %s (highest %s)',
										 e.tbl, s.above, e.ceiling, s.hi));
	END IF;

	-- the slots are those stress_reset() made: as many as it asked for on
	-- each slotted account, none elsewhere, none below 0
	SELECT count(*) FILTER (WHERE x.amount < 0 OR x.amount IS NULL) AS negative,
		   min(x.amount) AS lo,
		   count(*) FILTER (WHERE NOT (x.key = ANY (e.slot_keys))) AS stray,
		   (SELECT count(*) FROM unnest(e.slot_keys) k
			WHERE (SELECT count(*) FROM transfer_guard_slots y
				   WHERE y.tbl = e.tbl AND y.key = k) <> e.slots) AS miscounted
	INTO s
	FROM transfer_guard_slots x
	WHERE x.tbl = e.tbl;
	IF s.negative <> 0 THEN
		v := v + stress_note(who, format('%s has %s slots below 0 (lowest %s)', e.tbl, s.negative, s.lo));
	END IF;
	IF s.stray <> 0 OR s.miscounted <> 0 THEN
		v := v + stress_note(who, format('%s has %s slots on accounts without slots, and %s slotted accounts without their %s slots',
										 e.tbl, s.stray, s.miscounted, e.slots));
	END IF;

	-- the journal, as of this same snapshot: every balance (column, pending
	-- credits and slots) equals its start plus the journal's credits to the
	-- row minus its debits from it
	EXECUTE format($q$
		SELECT count(*) AS n,
			   string_agg(format('%%s: %%s + %%s pending + %%s in slots, journal says %%s', t.id, t.balance,
								 coalesce(p.amount, 0), coalesce(x.amount, 0),
								 $3 + coalesce(j.delta, 0)), '; ') AS sample
		FROM %s t
		LEFT JOIN (SELECT k, sum(delta) AS delta
				   FROM (SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
						 WHERE to_table = $1 AND transfer_id > $2
						 UNION ALL
						 SELECT from_key, -amount FROM transfer_guard_journal
						 WHERE from_table = $1 AND transfer_id > $2) m
				   GROUP BY k) j ON j.k = t.id::text
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
				   WHERE tbl = $1 GROUP BY key) p ON p.key = t.id::text
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_slots
				   WHERE tbl = $1 GROUP BY key) x ON x.key = t.id::text
		WHERE t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0)
			IS DISTINCT FROM $3 + coalesce(j.delta, 0) $q$, e.tbl)
		INTO s USING e.tbl, e.journal_after, e.start_balance;
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s balances differ from the journal: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;

	-- the holds of the table against the journal, in this same snapshot:
	-- each has its hold row (its id, its source, no destination, its
	-- amount) and, after it, the rows that end it, from no source: none
	-- while it is held; captured, its capture row (the amount its record
	-- says was captured, to its destination, the transfer id its record
	-- keeps) and, when part of it came back, one release row of the rest to
	-- its source; released, one release row, and expired, one expire row
	-- (closed at or after its expiry), of the whole amount to its source.
	-- No such row names a hold without a record.
	SELECT count(*) AS n,
		   string_agg(format('%s (%s, %s of %s captured): %s hold rows (%s as placed), %s capture rows (%s as recorded), %s release rows (%s to the source) of %s, %s expire rows (%s to the source) of %s',
							 c.hold_id, c.state, c.captured, c.amount, c.nhold, c.good_hold,
							 c.ncapture, c.good_capture, c.nrelease, c.good_release, c.released,
							 c.nexpire, c.good_expire, c.expired), '; ') AS sample
	INTO s
	FROM (SELECT h.hold_id, h.state, h.amount, h.captured, h.expires_at, h.closed_at,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'hold') AS nhold,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'hold' AND j.transfer_id = h.hold_id
											  AND j.from_table = h.from_table AND j.from_key = h.from_key
											  AND j.to_table IS NULL AND j.amount = h.amount) AS good_hold,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'capture') AS ncapture,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'capture' AND j.from_table IS NULL
											  AND j.to_table = h.to_table AND j.to_key = h.to_key
											  AND j.transfer_id = h.transfer_id
											  AND j.amount = h.captured) AS good_capture,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'release') AS nrelease,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'release' AND j.from_table IS NULL
											  AND j.to_table = h.from_table AND j.to_key = h.from_key) AS good_release,
				 coalesce(sum(j.amount) FILTER (WHERE j.kind = 'release'), 0) AS released,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'expire') AS nexpire,
				 count(j.transfer_id) FILTER (WHERE j.kind = 'expire' AND j.from_table IS NULL
											  AND j.to_table = h.from_table AND j.to_key = h.from_key) AS good_expire,
				 coalesce(sum(j.amount) FILTER (WHERE j.kind = 'expire'), 0) AS expired
		  FROM transfer_guard_hold h
		  LEFT JOIN transfer_guard_journal j
			  ON j.hold_id = h.hold_id AND j.transfer_id > e.journal_after
		  WHERE h.from_table = e.tbl AND h.hold_id > e.journal_after
		  GROUP BY h.hold_id) c
	WHERE NOT (c.nhold = 1 AND c.good_hold = 1 AND c.ncapture = c.good_capture
			   AND c.nrelease = c.good_release AND c.nexpire = c.good_expire
			   AND CASE c.state
				   WHEN 'held' THEN c.ncapture + c.nrelease + c.nexpire = 0
				   WHEN 'captured' THEN c.ncapture = 1 AND c.nexpire = 0
					   AND c.nrelease = (c.captured < c.amount)::int AND c.released = c.amount - c.captured
				   WHEN 'released' THEN c.ncapture = 0 AND c.nexpire = 0 AND c.nrelease = 1
					   AND c.released = c.amount
				   WHEN 'expired' THEN c.ncapture = 0 AND c.nrelease = 0 AND c.nexpire = 1
					   AND c.expired = c.amount AND c.expires_at <= c.closed_at
				   ELSE false END);
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s holds disagree with the journal: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;
	-- and in sum: what the hold rows took minus what the rows that end
	-- holds gave is what the open holds hold
	SELECT count(*) FILTER (WHERE h.hold_id IS NULL) AS orphans,
		   coalesce(sum(j.amount) FILTER (WHERE j.kind = 'hold'), 0)
			   - coalesce(sum(j.amount) FILTER (WHERE j.kind <> 'hold'), 0) AS open_journal,
		   (SELECT coalesce(sum(amount), 0) FROM transfer_guard_hold
			WHERE from_table = e.tbl AND hold_id > e.journal_after AND state = 'held') AS open_holds
	INTO s
	FROM transfer_guard_journal j
	LEFT JOIN transfer_guard_hold h ON h.hold_id = j.hold_id
	WHERE j.transfer_id > e.journal_after AND j.kind <> 'transfer'
		AND (j.from_table = e.tbl OR j.to_table = e.tbl);
	IF s.orphans <> 0 OR s.open_journal IS DISTINCT FROM s.open_holds THEN
		v := v + stress_note(who, format('%s: the journal says the open holds hold %s, their records %s; %s journal rows of holds without a record',
										 e.tbl, s.open_journal, s.open_holds, s.orphans));
	END IF;

	-- every pending credit is one deferred credit of this shape to a hot
	-- account: a positive amount, journaled with that amount, that account
	-- and no balance for it
	SELECT count(*) AS n,
		   string_agg(format('%s: %s to %s', p.transfer_id, p.amount, p.key), '; ') AS sample
	INTO s
	FROM transfer_guard_pending p
	WHERE p.tbl = e.tbl
		AND (NOT (p.key = ANY (e.hot_keys)) OR p.amount <= 0 OR p.transfer_id IS NULL
			 OR NOT EXISTS (SELECT FROM transfer_guard_journal j
							WHERE j.transfer_id = p.transfer_id AND j.transfer_id > e.journal_after
								AND j.to_table = p.tbl AND j.to_key = p.key
								AND j.amount = p.amount AND j.to_balance IS NULL));
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s pending credits not journaled as deferred credits to a hot account: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;
	-- and only a credit to a hot account that its call (a transfer or a
	-- batch) does not debit is journaled without a balance, and only a debit
	-- of a slotted account that its call does not credit
	WITH m AS (
		SELECT j.*, coalesce(j.batch_id, j.transfer_id) AS cid
		FROM transfer_guard_journal j
		WHERE j.transfer_id > e.journal_after AND (j.from_table = e.tbl OR j.to_table = e.tbl))
	SELECT count(*) AS n,
		   string_agg(format('%s: %s -> %s, %s, %s', m.transfer_id, m.from_key, m.to_key,
							 m.from_balance, m.to_balance), '; ') AS sample
	INTO s
	FROM m
	WHERE (m.to_table = e.tbl AND m.to_balance IS NULL
		   AND (NOT (m.to_key = ANY (e.hot_keys))
				OR (m.cid, m.to_key) IN (SELECT d.cid, d.from_key FROM m d
										  WHERE d.from_table = e.tbl AND d.from_key = ANY (e.hot_keys))))
		OR (m.from_table = e.tbl AND m.from_balance IS NULL
			AND (NOT (m.from_key = ANY (e.slot_keys))
				 OR (m.cid, m.from_key) IN (SELECT c.cid, c.to_key FROM m c
											 WHERE c.to_table = e.tbl AND c.to_key = ANY (e.slot_keys))));
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s journal rows without a balance other than a deferred credit or a debit served by a slot: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;
	-- a call's debits of a slotted account are all served by its one slot
	-- (no balance) or all combined (a balance each)
	SELECT count(*) AS n,
		   string_agg(format('call %s: %s of %s debits of %s without a balance',
							 c.cid, c.nulls, c.debits, c.key), '; ') AS sample
	INTO s
	FROM (SELECT coalesce(j.batch_id, j.transfer_id) AS cid, j.from_key AS key, count(*) AS debits,
				 count(*) FILTER (WHERE j.from_balance IS NULL) AS nulls
		  FROM transfer_guard_journal j
		  WHERE j.transfer_id > e.journal_after AND j.from_table = e.tbl
			  AND j.from_key = ANY (e.slot_keys)
		  GROUP BY 1, 2) c
	WHERE c.nulls <> 0 AND c.nulls <> c.debits;
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s calls served some debits of a slotted account by a slot, not all: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;
	-- current_balance() of a hot account, in this snapshot too, is its
	-- column plus its pending credits plus its slots
	EXECUTE format($q$
		SELECT count(*) AS n,
			   string_agg(format('%%s: %%s + %%s pending + %%s in slots, current_balance() %%s', t.id, t.balance,
								 coalesce(p.amount, 0), coalesce(x.amount, 0),
								 current_balance($1, t.id::text)), '; ') AS sample
		FROM %s t
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
				   WHERE tbl = $1 GROUP BY key) p ON p.key = t.id::text
		LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_slots
				   WHERE tbl = $1 GROUP BY key) x ON x.key = t.id::text
		WHERE t.id = ANY ($2::int[])
			AND current_balance($1, t.id::text)
				IS DISTINCT FROM t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0) $q$, e.tbl)
		INTO s USING e.tbl, e.hot_keys;
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: current_balance() of %s hot accounts differs: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;

	RETURN v;
END;
$$;

-- One audit: every table checked in the caller's REPEATABLE READ snapshot, so
-- all the figures come from one consistent moment while transfers go on.
CREATE FUNCTION stress_audit(client int)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e stress_expect;
	v int := 0;
BEGIN
	IF current_setting('transaction_isolation') <> 'repeatable read' THEN
		RAISE EXCEPTION 'stress_audit() must run in a REPEATABLE READ transaction';
	END IF;
	FOR e IN SELECT * FROM stress_expect ORDER BY tbl LOOP
		v := v + stress_check_table(e, format('auditor %s', client));
	END LOOP;
	-- counted under a negative client number: auditors and transfer clients
	-- both number themselves from 0
	PERFORM stress_count(-1 - client, 'audit');
	IF v > 0 THEN
		PERFORM stress_count(-1 - client, 'violation', v);
	END IF;
	RETURN v;
END;
$$;

-- One settle by a settle client: settle() every table, in the client's
-- transaction, counting the calls and the credits folded (under client
-- numbers below -100, apart from the others).  Returns what it folded.
CREATE FUNCTION stress_settle(client int)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint := settle();
BEGIN
	PERFORM stress_count(-101 - client, 'settle');
	PERFORM stress_count(-101 - client, 'settle_folded', n);
	RETURN n;
END;
$$;

-- After the load: the same checks in a fresh snapshot, plus a recount that
-- reads every row through the primary key index and must agree with the
-- sequential scan, and amcheck's verification that the index and the heap
-- hold the same rows; transfer_guard_hot_rows must list the hot accounts
-- with their slots and what they hold, and what is pending on them;
-- current_balance() of every account must be its column plus its pending
-- credits plus its slots; with settled (after a last settle()), no pending
-- credit may be left.  Returns the number of violations.
CREATE FUNCTION stress_final(settled boolean)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e stress_expect;
	v int := 0;
	who text := CASE WHEN settled THEN 'final check after settle()' ELSE 'final check' END;
	seq_total numeric;
	seq_count bigint;
	idx_total numeric;
	idx_count bigint;
	n bigint;
	s record;
BEGIN
	IF settled THEN
		SELECT count(*) INTO n FROM transfer_guard_pending;
		IF n <> 0 THEN
			v := v + stress_note(who, format('%s pending credits left', n));
		END IF;
	END IF;
	SELECT count(*) INTO n
	FROM (SELECT * FROM transfer_guard_hot_rows
		  WHERE tbl IN (SELECT tbl FROM stress_expect)) h
	FULL JOIN (SELECT x.tbl, k AS key,
					  CASE WHEN k = ANY (x.slot_keys) THEN x.slots ELSE 0 END AS slots,
					  (SELECT coalesce(sum(amount), 0) FROM transfer_guard_slots y WHERE y.tbl = x.tbl AND y.key = k) AS slot_amount,
					  (SELECT count(*) FROM transfer_guard_pending p WHERE p.tbl = x.tbl AND p.key = k) AS pending_count,
					  (SELECT coalesce(sum(amount), 0) FROM transfer_guard_pending p WHERE p.tbl = x.tbl AND p.key = k) AS pending_amount
			   FROM stress_expect x, unnest(x.hot_keys) k) x
		ON x.tbl = h.tbl AND x.key = h.key
	WHERE h.tbl IS NULL OR x.tbl IS NULL OR h.balance_column IS DISTINCT FROM 'balance'
		OR h.slots IS DISTINCT FROM x.slots
		OR h.slot_amount IS DISTINCT FROM x.slot_amount
		OR h.pending_count IS DISTINCT FROM x.pending_count
		OR h.pending_amount IS DISTINCT FROM x.pending_amount;
	IF n <> 0 THEN
		v := v + stress_note(who, format('transfer_guard_hot_rows differs from the hot accounts, their slots and their pending credits on %s rows', n));
	END IF;
	FOR e IN SELECT * FROM stress_expect ORDER BY tbl LOOP
		v := v + stress_check_table(e, who);

		EXECUTE format($q$
			SELECT count(*) AS n,
				   string_agg(format('%%s: %%s + %%s pending + %%s in slots, current_balance() %%s',
									 t.id, t.balance, coalesce(p.amount, 0), coalesce(x.amount, 0),
									 current_balance($1, t.id::text)), '; ') AS sample
			FROM %s t
			LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
					   WHERE tbl = $1 GROUP BY key) p ON p.key = t.id::text
			LEFT JOIN (SELECT key, sum(amount) AS amount FROM transfer_guard_slots
					   WHERE tbl = $1 GROUP BY key) x ON x.key = t.id::text
			WHERE current_balance($1, t.id::text)
				IS DISTINCT FROM t.balance + coalesce(p.amount, 0) + coalesce(x.amount, 0) $q$, e.tbl)
			INTO s USING e.tbl;
		IF s.n <> 0 THEN
			v := v + stress_note(who, format('%s: current_balance() of %s accounts differs: %s',
											 e.tbl, s.n, left(s.sample, 500)));
		END IF;

		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_bitmapscan = off;
		SET LOCAL enable_indexonlyscan = off;
		EXECUTE format('SELECT sum(balance), count(*) FROM %s', e.tbl) INTO seq_total, seq_count;
		RESET enable_indexscan;
		RESET enable_bitmapscan;
		RESET enable_indexonlyscan;
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_bitmapscan = off;
		EXECUTE format('SELECT sum(balance), count(*) FROM (SELECT balance FROM %s WHERE id > 0 ORDER BY id) s', e.tbl)
			INTO idx_total, idx_count;
		RESET enable_seqscan;
		RESET enable_bitmapscan;
		IF seq_total IS DISTINCT FROM idx_total OR seq_count <> idx_count THEN
			v := v + stress_note(who, format('%s: sequential scan %s rows summing to %s, index scan %s rows summing to %s',
													   e.tbl, seq_count, seq_total, idx_count, idx_total));
		END IF;
		PERFORM bt_index_check(i.indexrelid, heapallindexed => true)
		FROM pg_index i WHERE i.indrelid = e.tbl AND i.indisprimary;
	END LOOP;
	RETURN v;
END;
$$;
