-- the floor and a journal row written by hand: the one UPDATE of floor.sql,
-- and the row transfer() journals (balances after, caller, transaction id)
-- inserted into bench_journal, which has the journal's columns and indexes
-- (after keys.sql).  No check, as the floor.
WITH moved AS (
	UPDATE accounts_nj SET balance = balance + CASE id WHEN :a THEN -1 ELSE 1 END
	 WHERE id = ANY (ARRAY[:a, :b]::bigint[])
	RETURNING id, balance)
INSERT INTO bench_journal (transfer_id, leg, from_table, from_column, from_key,
						   to_table, to_column, to_key, amount, from_balance,
						   to_balance, caller, txid)
SELECT nextval('bench_journal_id'), 1, 'accounts_nj', 'balance', :a,
	   'accounts_nj', 'balance', :b, 1,
	   max(balance) FILTER (WHERE id = :a), max(balance) FILTER (WHERE id = :b),
	   current_user, pg_current_xact_id()
  FROM moved;
