"""
asyncpg: which overload transfer($1, $2, $3, $4) resolves to when asyncpg
lets the server infer the parameter types, what that means for int keys,
a pool of concurrent tasks keeping every invariant, every documented error
with its SQLSTATE and error fields, retries with an idempotency key after a
dropped connection moving the money once, and try_transfer's business
outcomes arriving as records.
"""

import asyncio
import inspect
import time
import unittest
from decimal import Decimal

import asyncpg
import asyncpg.exceptions

from tgclients import (BUSY_ACCOUNTS, WAIT_SECONDS, DroppingProxy, Ledger,
                       assert_ledger, case_params, case_test_name,
                       error_cases, new_key, plan)

# asyncpg's exception class for each SQLSTATE (the most general one where
# asyncpg derives a class of its own from another of the same SQLSTATE, as
# InvalidCachedStatementError from FeatureNotSupportedError)
ERROR_CLASSES = {}
for _cls in vars(asyncpg.exceptions).values():
    if (inspect.isclass(_cls) and issubclass(_cls, asyncpg.PostgresError)
            and getattr(_cls, "sqlstate", None)):
        _known = ERROR_CLASSES.get(_cls.sqlstate)
        if _known is None or issubclass(_known, _cls):
            ERROR_CLASSES[_cls.sqlstate] = _cls

TRANSFER = "SELECT * FROM transfer($1, $2, $3, $4)"


async def balances(conn, keys=BUSY_ACCOUNTS):
    rows = await conn.fetch("SELECT id, balance FROM accounts WHERE id = ANY($1)",
                            list(keys))
    return {r["id"]: r["balance"] for r in rows}


async def reset(conn):
    await conn.execute("UPDATE accounts SET balance = 100")


def run(coro_fn):
    """Run a test body with a fresh connection, after resetting the rows."""
    async def main():
        conn = await asyncpg.connect()
        try:
            await reset(conn)
            return await coro_fn(conn)
        finally:
            await conn.close()
    return asyncio.run(main())


class Overloads(unittest.TestCase):
    def test_untyped_parameters_resolve_to_the_text_overload(self):
        """asyncpg prepares transfer($1, $2, $3, $4) and uses the types the
        server inferred: (regclass, text, text, numeric), the text overload."""
        async def body(conn):
            stmt = await conn.prepare(TRANSFER)
            return [t.name for t in stmt.get_parameters()]
        self.assertEqual(run(body), ["regclass", "text", "text", "numeric"])

    def test_str_keys_transfer(self):
        """With keys passed as str, the call works: the extension converts
        them exactly to the bigint key."""
        async def body(conn):
            row = await conn.fetchrow(TRANSFER, "accounts", "1", "3000000000", 5)
            return tuple(row), await balances(conn, [1, 3000000000])
        row, after = run(body)
        self.assertEqual(row[1:], (Decimal(95), Decimal(105)))
        self.assertEqual(after, {1: 95, 3000000000: 105})

    def test_int_keys_are_refused_by_asyncpg_before_sending(self):
        """Since the inferred key type is text, asyncpg refuses Python int
        keys itself (DataError caused by its encoder, not by the server) and
        nothing changes: int keys need str() or a cast in the SQL."""
        async def body(conn):
            with self.assertRaises(asyncpg.exceptions.DataError) as cm:
                await conn.fetchrow(TRANSFER, "accounts", 1, 2, 5)
            return cm.exception, await balances(conn, [1, 2])
        e, after = run(body)
        self.assertIsInstance(e.__cause__, (TypeError, ValueError))
        self.assertIn("expected str, got int", str(e))
        self.assertEqual(after, {1: 100, 2: 100})

    def test_int_keys_transfer_with_a_cast_to_the_key_type(self):
        """transfer($1, $2::bigint, $3::bigint, $4) resolves to the
        anycompatible overload with bigint keys, and Python ints work."""
        async def body(conn):
            sql = "SELECT * FROM transfer($1, $2::bigint, $3::bigint, $4)"
            stmt = await conn.prepare(sql)
            types = [t.name for t in stmt.get_parameters()]
            row = await conn.fetchrow(sql, "accounts", 1, 3000000000, 5)
            return types, tuple(row), await balances(conn, [1, 3000000000])
        types, row, after = run(body)
        self.assertEqual(types, ["regclass", "int8", "int8", "numeric"])
        self.assertEqual(row[1:], (Decimal(95), Decimal(105)))
        self.assertEqual(after, {1: 95, 3000000000: 105})

    def test_bot_scenario_object1_field1_into_object2_field2(self):
        """Take 30 from object1.field1 of row 1, add it to object2.field2 of
        row 2, in one call with named arguments."""
        async def body(conn):
            await conn.execute("UPDATE object1 SET field1 = 100")
            await conn.execute("UPDATE object2 SET field2 = 0")
            row = await conn.fetchrow(
                "SELECT * FROM transfer($1, $2, $3, $4,"
                " to_table => $5, to_column => $6)",
                "object1", "1", "2", 30, "object2", "field2")
            stored = await conn.fetchrow(
                "SELECT (SELECT field1 FROM object1 WHERE id = 1),"
                "       (SELECT field2 FROM object2 WHERE id = 2)")
            return tuple(row), tuple(stored)
        row, stored = run(body)
        self.assertEqual(row[1:], (Decimal(70), Decimal(30)))
        self.assertEqual(stored, (70, 30))


KEYED_TRANSFER = "SELECT * FROM transfer($1, $2, $3, $4, idempotency_key => $5)"
KEYED_TRY = "SELECT * FROM try_transfer($1, $2, $3, $4, idempotency_key => $5)"
TRY = "SELECT * FROM try_transfer($1, $2, $3, $4)"

# The keyed moves of the crowd test: several keys, one of them sharing a row
# with another; each key is sent by CROWD callers at once
CROWD_MOVES = [("1", "2", 10), ("3", "4", 20), ("5", "6", 30), ("2", "7", 5)]
CROWD = 10


async def journal(conn, key):
    """The journal's rows for an idempotency key, as (transfer_id,
    from_balance, to_balance)."""
    rows = await conn.fetch(
        "SELECT transfer_id, from_balance, to_balance FROM transfer_guard_journal"
        " WHERE idempotency_key = $1 ORDER BY transfer_id", key)
    return [tuple(r) for r in rows]


async def wait_until(conn, sql, want, what, *args):
    """Poll sql on conn until it returns want; AssertionError after
    WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while await conn.fetchval(sql, *args) != want:
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting until " + what)
        await asyncio.sleep(0.02)


BACKEND_GONE = "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)"
QUEUED_REQUESTS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    " AND query LIKE '%try_transfer%'")


class Idempotency(unittest.TestCase):
    """A client that lost its connection retries with the same idempotency
    key: whether or not the first attempt committed, the money moves once.
    The connection is dropped by a proxy (DroppingProxy) at a chosen point
    of the protocol, so the server really commits (or not) and the client
    really gets no reply.  asyncpg reports the drop as
    ConnectionDoesNotExistError."""

    def test_reply_lost_after_commit_retry_returns_the_original_transfer(self):
        """A keyed transfer outside a transaction is executed and committed
        by the server, but the connection drops before the client gets the
        reply.  The client reconnects and retries with the same key (after
        another transfer changed row 1): transfer() returns the original
        transfer id and the balances recorded then, try_transfer() reports
        'duplicate' with them, and the money moved once."""
        key = new_key("lost-reply")

        async def body(conn):
            lost = await asyncpg.connect(host=proxy.host, port=proxy.port,
                                         timeout=WAIT_SECONDS)
            try:
                with self.assertRaises(asyncpg.exceptions.ConnectionDoesNotExistError):
                    await lost.fetchrow(KEYED_TRANSFER, "accounts", "1", "2", 30, key)
            finally:
                lost.terminate()
            self.assertTrue(proxy.committed_unseen(),
                            "the server did not commit: %r %r"
                            % (proxy.reply_types, proxy.ready_status))
            original = await journal(conn, key)
            await conn.fetchrow(TRANSFER, "accounts", "1", "3", 5)
            again = await conn.fetchrow(KEYED_TRANSFER, "accounts", "1", "2", 30, key)
            tried = await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 30, key)
            return (original, tuple(again), tuple(tried), await journal(conn, key),
                    await balances(conn, [1, 2, 3]))

        with DroppingProxy() as proxy:
            proxy.lose_reply_to(key.encode())
            original, again, tried, after, stored = run(body)
        self.assertEqual([r[1:] for r in original], [(70, 130)])
        self.assertEqual(again, original[0])
        self.assertEqual(tried, ("duplicate",) + original[0])
        self.assertEqual(after, original)
        self.assertEqual(stored, {1: 65, 2: 130, 3: 105})

    def test_commit_reply_lost_retry_returns_the_original_transfer(self):
        """A keyed transfer in a transaction: the server commits, but the
        reply to COMMIT is lost with the connection, so commit() raises and
        the client cannot tell.  The retry with the same key on a new
        connection returns the transfer id the client saw before COMMIT, and
        the money moved once."""
        key = new_key("lost-commit-reply")

        async def body(conn):
            lost = await asyncpg.connect(host=proxy.host, port=proxy.port,
                                         timeout=WAIT_SECONDS)
            try:
                tr = lost.transaction()
                await tr.start()
                seen = tuple(await lost.fetchrow(KEYED_TRANSFER, "accounts", "1",
                                                 "2", 30, key))
                with self.assertRaises(asyncpg.exceptions.ConnectionDoesNotExistError):
                    await tr.commit()
            finally:
                lost.terminate()
            self.assertTrue(proxy.committed_unseen(),
                            "the server did not commit: %r %r"
                            % (proxy.reply_types, proxy.ready_status))
            again = await conn.fetchrow(KEYED_TRANSFER, "accounts", "1", "2", 30, key)
            return (seen, tuple(again), await journal(conn, key),
                    await balances(conn, [1, 2]))

        with DroppingProxy() as proxy:
            proxy.lose_reply_to(b"COMMIT")
            seen, again, after, stored = run(body)
        self.assertEqual(seen[1:], (70, 130))
        self.assertEqual(again, seen)
        self.assertEqual(after, [seen])
        self.assertEqual(stored, {1: 70, 2: 130})

    def test_dropped_before_commit_the_retry_moves_the_money_once(self):
        """A keyed transfer in a transaction, and the connection drops
        before COMMIT reaches the server: the server rolls back (no journal
        row, balances unchanged), so the retry with the same key moves the
        money itself ('ok', a new transfer id), once; a second retry is a
        'duplicate' of it."""
        key = new_key("before-commit")

        async def body(conn):
            lost = await asyncpg.connect(host=proxy.host, port=proxy.port,
                                         timeout=WAIT_SECONDS)
            try:
                pid = lost.get_server_pid()
                tr = lost.transaction()
                await tr.start()
                first = tuple(await lost.fetchrow(KEYED_TRANSFER, "accounts", "1",
                                                  "2", 30, key))
                with self.assertRaises(asyncpg.exceptions.ConnectionDoesNotExistError):
                    await tr.commit()
            finally:
                lost.terminate()
            self.assertTrue(proxy.wait_dropped())
            await wait_until(conn, BACKEND_GONE, True,
                             "the dropped connection's backend is gone", pid)
            rolled_back = (await journal(conn, key), await balances(conn, [1, 2]))
            moved = tuple(await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 30, key))
            again = tuple(await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 30, key))
            return (first, rolled_back, moved, again, await journal(conn, key),
                    await balances(conn, [1, 2]))

        with DroppingProxy() as proxy:
            proxy.drop_at(b"COMMIT")
            first, rolled_back, moved, again, after, stored = run(body)
            self.assertIn(b"COMMIT", proxy.withheld)
        self.assertEqual(rolled_back, ([], {1: 100, 2: 100}))
        self.assertEqual((moved[0], moved[2:]), ("ok", (70, 130)))
        self.assertNotEqual(moved[1], first[0])
        self.assertEqual(again, ("duplicate",) + moved[1:])
        self.assertEqual(after, [moved[1:]])
        self.assertEqual(stored, {1: 70, 2: 130})

    def test_same_key_with_another_amount_raises_tg001(self):
        """A key already used, sent again with another amount: SQLSTATE
        TG001, which asyncpg (not knowing the code) raises as
        UnknownPostgresError, with the detail naming the difference; nothing
        moves and the connection goes on (asyncpg files the class under
        FatalPostgresError, but it is an ordinary error)."""
        key = new_key("other-amount")

        async def body(conn):
            first = tuple(await conn.fetchrow(KEYED_TRANSFER, "accounts", "1", "2",
                                              30, key))
            raised = []
            for sql in (KEYED_TRANSFER, KEYED_TRY):
                with self.assertRaises(asyncpg.PostgresError) as cm:
                    await conn.fetchrow(sql, "accounts", "1", "2", 31, key)
                raised.append(cm.exception)
            return first, raised, await journal(conn, key), await balances(conn, [1, 2])

        first, raised, after, stored = run(body)
        for e in raised:
            self.assertIs(type(e), asyncpg.exceptions.UnknownPostgresError)
            self.assertEqual(e.sqlstate, "TG001")
            self.assertIn("amount 30, not 31", e.detail)
        self.assertEqual(after, [first])
        self.assertEqual(stored, {1: 70, 2: 130})

    def test_same_key_from_ten_tasks_at_once_moves_the_money_once_per_key(self):
        """Four keys, ten tasks per key, each with its own connection, all
        sending try_transfer with their key while another connection holds
        the rows, so that the 40 requests are all queued at once: per key
        one 'ok' and nine 'duplicate' with the same transfer id and
        balances, one journal row, and the money moved once per key."""
        keys = {new_key("crowd-%d" % i): move for i, move in enumerate(CROWD_MOVES)}
        order = [key for key in keys for _ in range(CROWD)]

        async def request(conn, key):
            src, dst, amount = keys[key]
            return tuple(await conn.fetchrow(KEYED_TRY, "accounts", src, dst,
                                             amount, key))

        async def body(conn):
            conns = await asyncio.gather(*(asyncpg.connect(timeout=WAIT_SECONDS)
                                           for _ in order))
            holder = await asyncpg.connect()
            try:
                tr = holder.transaction()
                await tr.start()
                await holder.execute(
                    "SELECT FROM accounts WHERE id = ANY($1) FOR UPDATE",
                    list(BUSY_ACCOUNTS))
                tasks = [asyncio.create_task(request(c, k))
                         for c, k in zip(conns, order)]
                try:
                    await wait_until(conn, QUEUED_REQUESTS, len(order),
                                     "all %d requests wait" % len(order))
                finally:
                    await tr.rollback()
                    replies = await asyncio.wait_for(
                        asyncio.gather(*tasks, return_exceptions=True), WAIT_SECONDS)
            finally:
                for c in [*conns, holder]:
                    await c.close()
            journals = {key: await journal(conn, key) for key in keys}
            return replies, journals, await balances(conn)

        replies, journals, stored = run(body)
        self.assertEqual([r for r in replies if isinstance(r, BaseException)], [],
                         "requests that raised")
        for key, (src, dst, amount) in keys.items():
            mine = [r for r, k in zip(replies, order) if k == key]
            self.assertEqual(sorted(r[0] for r in mine),
                             ["duplicate"] * (CROWD - 1) + ["ok"], key)
            results = {r[1:] for r in mine}
            self.assertEqual(len(results), 1, "%s: replies differ: %s" % (key, results))
            self.assertEqual(journals[key], list(results), key)
        expected = {k: 100 for k in BUSY_ACCOUNTS}
        for src, dst, amount in keys.values():
            expected[int(src)] -= amount
            expected[int(dst)] += amount
        self.assertEqual(stored, expected)


class TryTransfer(unittest.TestCase):
    def test_business_outcomes_are_records_with_a_null_transfer_id(self):
        """try_transfer reports too little money, a missing row and a
        ceiling as statuses, with transfer_id None (NULL), and raises
        nothing: the transaction stays usable and the next call in it
        moves the money."""
        async def body(conn):
            tr = conn.transaction()
            await tr.start()
            try:
                await conn.execute("UPDATE capped SET gems = CASE id WHEN 1 THEN 50"
                                   " ELSE 90 END")
                return [tuple(await conn.fetchrow(TRY, *args)) for args in (
                    ("accounts", "1", "2", 1000),
                    ("accounts", "1", "9", 1),
                    ("capped", "1", "2", 20),
                    ("accounts", "1", "2", 30))]
            finally:
                await tr.rollback()
        funds, missing, ceiling, moved = run(body)
        self.assertEqual(funds, ("insufficient_funds", None, 100, 100))
        self.assertEqual(missing, ("not_found", None, None, None))
        self.assertEqual(ceiling, ("limit_exceeded", None, 50, 90))
        self.assertEqual((moved[0], moved[2:]), ("ok", (70, 130)))
        self.assertIsInstance(moved[1], int)

    def test_keyed_refusal_leaves_the_key_unused(self):
        """A keyed try_transfer refused for want of money records nothing:
        after a deposit, the same key moves the money ('ok'), once."""
        key = new_key("refused")

        async def body(conn):
            refused = tuple(await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 150, key))
            recorded = await journal(conn, key)
            await conn.fetchrow(TRANSFER, "accounts", "3", "1", 60)
            moved = tuple(await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 150, key))
            again = tuple(await conn.fetchrow(KEYED_TRY, "accounts", "1", "2", 150, key))
            return refused, recorded, moved, again

        refused, recorded, moved, again = run(body)
        self.assertEqual(refused, ("insufficient_funds", None, 100, 100))
        self.assertEqual(recorded, [])
        self.assertEqual((moved[0], moved[2:]), ("ok", (10, 250)))
        self.assertEqual(again, ("duplicate",) + moved[1:])


class Concurrency(unittest.TestCase):
    def test_pool_of_16_connections_and_many_tasks_keep_every_invariant(self):
        """A pool of 16 connections, 32 tasks of 50 random transfers each
        among 8 busy accounts: total kept, nothing negative, nothing lost."""
        ledger = Ledger()

        async def work(pool, moves):
            for src, dst, amount in moves:
                try:
                    row = await pool.fetchrow(TRANSFER, "accounts", str(src),
                                              str(dst), amount)
                except asyncpg.exceptions.CheckViolationError:
                    ledger.refused += 1
                except asyncpg.PostgresError as e:
                    ledger.unexpected.append((e.sqlstate, str(e)))
                else:
                    ledger.accept(src, dst, amount, tuple(row))

        async def body(conn):
            initial = await balances(conn)
            async with asyncpg.create_pool(min_size=16, max_size=16) as pool:
                await asyncio.gather(*(work(pool, moves)
                                       for moves in plan(32, 50, seed=3)))
            return initial, await balances(conn)

        initial, final = run(body)
        print("  pool tasks:", ledger.summary())
        assert_ledger(self, ledger, initial, final)


class Errors(unittest.TestCase):
    """Every documented error, by its exception class, with its SQLSTATE and
    error fields (errors.json; each case in a transaction rolled back)."""

    def check(self, case):
        async def body(conn):
            with self.assertRaises(ERROR_CLASSES[case["sqlstate"]]) as cm:
                async with conn.transaction():
                    for stmt in case.get("setup", []):
                        await conn.execute(stmt)
                    await conn.fetch(case["sql"], *case_params(case["params"]))
            return cm.exception
        e = run(body)
        self.assertEqual(e.sqlstate, case["sqlstate"])
        want = case.get("fields", {})
        for field in ("schema", "table", "column", "constraint"):
            if field in want:
                self.assertEqual(getattr(e, field + "_name"), want[field], field)
        if "context" in case:
            self.assertIn(case["context"], e.context or "")

    def test_error_55p03_row_locked_by_another_connection_and_nowait(self):
        """A row locked by another connection: nowait => true raises 55P03
        (LockNotAvailableError) at once."""
        async def body(conn):
            holder = await asyncpg.connect()
            try:
                async with holder.transaction():
                    await holder.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
                    with self.assertRaises(asyncpg.exceptions.LockNotAvailableError) as cm:
                        await conn.fetchrow(
                            "SELECT * FROM transfer($1, $2, $3, $4, nowait => true)",
                            "accounts", "1", "2", 1)
            finally:
                await holder.close()
            return cm.exception
        self.assertEqual(run(body).sqlstate, "55P03")


def _add_error_case(case):
    def test(self):
        self.check(case)
    test.__doc__ = "%s: %s" % (case["sqlstate"], case["name"])
    setattr(Errors, case_test_name(case), test)


for _case in error_cases():
    _add_error_case(_case)
