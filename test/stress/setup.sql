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
-- calls settle() and counts what it folded.  Transfer clients and auditors
-- record every violation in stress_violations and return how many they
-- found; the pgbench scripts then make the client fail.
--
-- With hot rows an account's balance is its column plus its pending
-- credits plus its slots: that sum is what the checks compare with the
-- start, the journal, the total and current_balance(); neither the column
-- alone nor that sum may go below the floor, nor a slot below 0.
--
-- The expected figures (accounts, total, floor, ceiling, hot accounts and
-- their slots) are written to stress_expect by stress_reset(), next to the
-- guard() and set_hot() calls that set the limits and mark the hot accounts;
-- the checks compare against them, never against what the extension reports
-- about its own guards.  The journal (transfer_guard_journal) is checked
-- against what each call returned and against the balances, the pending
-- credits (transfer_guard_pending) against the journal, and the slots
-- (transfer_guard_slots) against the hot accounts.
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
				   + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_slots WHERE tbl = $3) AS total,
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
		INTO s USING e.floor, e.ceiling, e.tbl;
	IF s.accounts <> e.accounts THEN
		v := v + stress_note(who, format('%s has %s accounts, expected %s', e.tbl, s.accounts, e.accounts));
	END IF;
	IF s.total IS DISTINCT FROM e.total THEN
		v := v + stress_note(who, format('%s sums to %s (columns, pending credits and slots), expected %s',
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
