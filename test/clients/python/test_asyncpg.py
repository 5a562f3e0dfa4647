"""
asyncpg: which overload transfer($1, $2, $3, $4) resolves to when asyncpg
lets the server infer the parameter types, what that means for int keys,
a pool of concurrent tasks keeping every invariant, every documented error
with its SQLSTATE and error fields, retries with an idempotency key after a
dropped connection moving the money once, and try_transfer's business
outcomes arriving as records.  And the bot's orders with holds: placed
(hold), delivered (capture, in full or with a discount), cancelled
(release) or left to expire (try_capture, release_expired), with the
refusals handled by SQLSTATE, and 20 tasks running order flows at once on
shared accounts, keeping the balances plus the open holds constant.
"""

import asyncio
import inspect
import random
import time
import unittest
from datetime import timedelta
from decimal import Decimal
from unittest.mock import ANY

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


# The bot's orders: the price of an order is held on the buyer's wallet
# (object1.field1) for the shop (object2.field2) when it is placed, moved to
# the shop when it is delivered (captured), given back when it is cancelled
# (released) or when it expires.  asyncpg infers text for the keys (the text
# overload of hold(), as of transfer()), numeric for the amounts and
# interval for expires_in (a timedelta; None: the order never expires).
PLACE_ORDER = ("SELECT * FROM hold('object1', $1, $2, $3, to_table => 'object2',"
               " to_column => 'field2', expires_in => $4)")
CAPTURE = "SELECT * FROM capture($1, $2)"
TRY_CAPTURE = "SELECT * FROM try_capture($1, $2)"
RELEASE = "SELECT release($1)"
RELEASE_EXPIRED = "SELECT release_expired()"

WALLETS_TOTAL = 400          # object1's 4 wallets of 100; the shops start at 0
EXPIRES_SOON = timedelta(milliseconds=50)
EXPIRED_BY = 0.2             # seconds after which EXPIRES_SOON has passed

# The wallets, the shops and the wallets' open holds, read in one snapshot
ORDERS_TOTAL = (
    "SELECT (SELECT sum(field1) FROM object1) + (SELECT sum(field2) FROM object2)"
    " + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds"
    "    WHERE state = 'held' AND from_table = 'object1'::regclass)")

# What the bot tells its user when a delivery or a cancellation is refused,
# by SQLSTATE
ORDER_PROBLEMS = {
    "P0002": "no such order",
    "TG002": "already delivered",
    "TG003": "already cancelled",
    "TG004": "expired",
    "22023": "more than the price",
    "42501": "not your order",
}


async def settle(conn, sql, *args):
    """Capture or release an order's hold for the bot: ("ok", record), or
    (the problem, the exception) for a refusal of ORDER_PROBLEMS; any other
    error raises."""
    try:
        return "ok", await conn.fetchrow(sql, *args)
    except asyncpg.PostgresError as e:
        problem = ORDER_PROBLEMS.get(e.sqlstate)
        if problem is None:
            raise
        return problem, e


async def reset_orders(conn):
    """Release the holds a test left open, then the wallets to 100 and the
    shops to 0."""
    await conn.execute("SELECT count(release(hold_id)) FROM transfer_guard_holds"
                       " WHERE state = 'held'")
    await conn.execute("UPDATE object1 SET field1 = 100")
    await conn.execute("UPDATE object2 SET field2 = 0")


async def wallet_and_till(conn, buyer, shop):
    return tuple(await conn.fetchrow(
        "SELECT (SELECT field1 FROM object1 WHERE id = $1),"
        "       (SELECT field2 FROM object2 WHERE id = $2)", buyer, shop))


async def hold_view(conn, hold_id):
    """The hold in transfer_guard_holds: (state, amount, captured,
    transfer_id)."""
    row = await conn.fetchrow("SELECT state, amount, captured, transfer_id"
                              " FROM transfer_guard_holds WHERE hold_id = $1", hold_id)
    return tuple(row)


async def hold_journal(conn, hold_id):
    """The hold's journal rows: (transfer_id, kind, from_key, to_key,
    amount)."""
    rows = await conn.fetch("SELECT transfer_id, kind, from_key, to_key, amount"
                            " FROM transfer_guard_journal WHERE hold_id = $1"
                            " ORDER BY transfer_id", hold_id)
    return [tuple(r) for r in rows]


class Orders(unittest.TestCase):
    """An order holds its price on the buyer's wallet when it is placed;
    delivered, the price goes to the shop (capture, all of it or less),
    cancelled or expired, it goes back.  Wallets 1-4 have 100 each, the
    shops 0: the balances plus the open holds stay 400 throughout."""

    def test_order_placed_then_delivered_pays_the_shop(self):
        """Placed: the price leaves the wallet at once (hold() returns the
        wallet's balance) and is held for an hour.  Delivered: the whole
        price reaches the shop (from_balance None: nothing came back), the
        hold is captured, and the journal has the hold row (from the wallet)
        and the capture row (to the shop)."""
        async def body(conn):
            await reset_orders(conn)
            hold_id, from_balance = await conn.fetchrow(PLACE_ORDER, "1", "2", 30,
                                                        timedelta(hours=1))
            self.assertEqual(from_balance, 70)
            self.assertEqual(await wallet_and_till(conn, 1, 2), (70, 0))
            self.assertEqual(await hold_view(conn, hold_id), ("held", 30, None, None))
            self.assertEqual(await conn.fetchval(
                "SELECT expires_at - created_at FROM transfer_guard_holds"
                " WHERE hold_id = $1", hold_id), timedelta(hours=1))
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)

            transfer_id, from_balance, to_balance = await conn.fetchrow(
                CAPTURE, hold_id, None)
            self.assertEqual((from_balance, to_balance), (None, 30))
            self.assertEqual(await wallet_and_till(conn, 1, 2), (70, 30))
            self.assertEqual(await hold_view(conn, hold_id),
                             ("captured", 30, 30, transfer_id))
            self.assertEqual(await hold_journal(conn, hold_id),
                             [(hold_id, "hold", "1", None, 30),
                              (transfer_id, "capture", None, "2", 30)])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
        run(body)

    def test_delivered_with_a_discount_captures_less_and_the_rest_returns(self):
        """A price of 30 delivered with a discount of 5: capture(hold, 25)
        pays the shop 25 and gives the wallet 5 back (a 'release' row for
        the rest), returning both balances."""
        async def body(conn):
            await reset_orders(conn)
            hold_id, _ = await conn.fetchrow(PLACE_ORDER, "1", "2", 30, None)
            transfer_id, from_balance, to_balance = await conn.fetchrow(
                CAPTURE, hold_id, Decimal(25))
            self.assertEqual((from_balance, to_balance), (75, 25))
            self.assertEqual(await wallet_and_till(conn, 1, 2), (75, 25))
            self.assertEqual(await hold_view(conn, hold_id),
                             ("captured", 30, 25, transfer_id))
            self.assertEqual(await hold_journal(conn, hold_id),
                             [(hold_id, "hold", "1", None, 30),
                              (transfer_id, "capture", None, "2", 25),
                              (ANY, "release", None, "1", 5)])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
        run(body)

    def test_cancelled_order_gives_the_price_back(self):
        """Cancelled: release() returns the wallet's balance, the price back
        in it; the shop got nothing."""
        async def body(conn):
            await reset_orders(conn)
            hold_id, _ = await conn.fetchrow(PLACE_ORDER, "1", "2", 30, None)
            self.assertEqual(await conn.fetchval(RELEASE, hold_id), 100)
            self.assertEqual(await wallet_and_till(conn, 1, 2), (100, 0))
            self.assertEqual(await hold_view(conn, hold_id), ("released", 30, None, None))
            self.assertEqual(await hold_journal(conn, hold_id),
                             [(hold_id, "hold", "1", None, 30),
                              (ANY, "release", None, "1", 30)])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
        run(body)

    def test_orders_left_alone_expire(self):
        """Two orders expire after 50 ms, a third never.  Past the expiry,
        capture() raises TG004 and, the error undoing everything, leaves the
        hold held and the wallet short; try_capture() releases it and
        reports 'expired'; release_expired() releases the other one and
        nothing more; the third stays held."""
        async def body(conn):
            await reset_orders(conn)
            late, _ = await conn.fetchrow(PLACE_ORDER, "1", "2", 30, EXPIRES_SOON)
            forgotten, _ = await conn.fetchrow(PLACE_ORDER, "3", "2", 20, EXPIRES_SOON)
            kept, _ = await conn.fetchrow(PLACE_ORDER, "4", "2", 10, None)
            await asyncio.sleep(EXPIRED_BY)

            with self.assertRaises(asyncpg.exceptions.UnknownPostgresError) as cm:
                await conn.fetchrow(CAPTURE, late, None)
            self.assertEqual(cm.exception.sqlstate, "TG004")
            self.assertEqual((await hold_view(conn, late))[0], "held")
            self.assertEqual(await wallet_and_till(conn, 1, 2), (70, 0))
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)

            self.assertEqual(tuple(await conn.fetchrow(TRY_CAPTURE, late, None)),
                             ("expired", None, None, None))
            self.assertEqual((await hold_view(conn, late))[0], "expired")
            self.assertEqual(await wallet_and_till(conn, 1, 2), (100, 0))
            self.assertEqual(await hold_journal(conn, late),
                             [(late, "hold", "1", None, 30),
                              (ANY, "expire", None, "1", 30)])

            self.assertEqual(await conn.fetchval(RELEASE_EXPIRED), 1)
            self.assertEqual((await hold_view(conn, forgotten))[0], "expired")
            self.assertEqual([r[1:] for r in await hold_journal(conn, forgotten)],
                             [("hold", "3", None, 20), ("expire", None, "3", 20)])
            self.assertEqual((await hold_view(conn, kept))[0], "held")
            self.assertEqual(await conn.fetchval(RELEASE_EXPIRED), 0)
            self.assertEqual(await conn.fetchval(
                "SELECT array_agg(field1 ORDER BY id) FROM object1"), [100, 100, 100, 90])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
        run(body)

    def test_refusals_are_handled_by_sqlstate(self):
        """The bot branches on the SQLSTATE of each refusal (settle()):
        a second delivery (TG002, the detail naming the capture), a
        cancellation after the delivery (TG002), a delivery after the
        cancellation (TG003) or past the expiry (TG004), more than the price
        (22023), another role's delivery (42501), and an order whose
        placing rolled back (P0002).  try_capture() reports the same cases
        as statuses.  Nothing moves; the orders refused for a wrong amount
        or the wrong role are still open and go through afterwards."""
        async def body(conn):
            await reset_orders(conn)

            async def place(buyer, expires_in=None):
                hold_id, _ = await conn.fetchrow(PLACE_ORDER, str(buyer), "1", 10,
                                                 expires_in)
                return hold_id

            delivered = await place(1)
            first_capture = (await conn.fetchrow(CAPTURE, delivered, None))[0]
            cancelled = await place(2)
            await conn.fetchval(RELEASE, cancelled)
            expired = await place(3, EXPIRES_SOON)
            discounted = await place(4)
            tr = conn.transaction()
            await tr.start()
            lost = await place(4)
            await tr.rollback()
            await asyncio.sleep(EXPIRED_BY)

            async def as_other_role(sql, *args):
                tr = conn.transaction()
                await tr.start()
                try:
                    await conn.execute("SET LOCAL ROLE tg_clients_nobody")
                    return await settle(conn, sql, *args)
                finally:
                    await tr.rollback()

            cases = [
                # what, the bot's outcome -> the problem, asyncpg's class, SQLSTATE
                ("delivered twice", settle(conn, CAPTURE, delivered, None),
                 "already delivered", asyncpg.exceptions.UnknownPostgresError, "TG002"),
                ("cancelled after delivery", settle(conn, RELEASE, delivered),
                 "already delivered", asyncpg.exceptions.UnknownPostgresError, "TG002"),
                ("delivered after cancellation", settle(conn, CAPTURE, cancelled, None),
                 "already cancelled", asyncpg.exceptions.UnknownPostgresError, "TG003"),
                ("delivered after expiry", settle(conn, CAPTURE, expired, None),
                 "expired", asyncpg.exceptions.UnknownPostgresError, "TG004"),
                ("more than the price", settle(conn, CAPTURE, discounted, Decimal(11)),
                 "more than the price", asyncpg.exceptions.InvalidParameterValueError,
                 "22023"),
                ("by another role", as_other_role(CAPTURE, discounted, None),
                 "not your order", asyncpg.exceptions.InsufficientPrivilegeError, "42501"),
                ("an order whose placing rolled back", settle(conn, CAPTURE, lost, None),
                 "no such order", asyncpg.exceptions.NoDataFoundError, "P0002"),
            ]
            for what, outcome, problem, cls, code in cases:
                with self.subTest(what):
                    got, e = await outcome
                    self.assertEqual(got, problem)
                    self.assertIs(type(e), cls)
                    self.assertEqual(e.sqlstate, code)
                    if code == "TG002":
                        self.assertIn("captured by transfer %d" % first_capture, e.detail)

            statuses = [tuple(await conn.fetchrow(TRY_CAPTURE, *args)) for args in (
                (delivered, None), (cancelled, None), (discounted, Decimal(11)),
                (lost, None), (expired, None))]
            self.assertEqual(statuses, [("captured", first_capture, None, None),
                                        ("released", None, None, None),
                                        ("exceeds_hold", None, None, None),
                                        ("not_found", None, None, None),
                                        ("expired", None, None, None)])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
            self.assertEqual(tuple(await conn.fetchrow(CAPTURE, discounted, Decimal(8)))[1:],
                             (92, 18))
            self.assertEqual(await conn.fetchval(
                "SELECT array_agg(field1 ORDER BY id) FROM object1"), [90, 100, 100, 92])
            self.assertEqual(await conn.fetchval(ORDERS_TOTAL), WALLETS_TOTAL)
        run(body)


# The concurrent order flows: ORDER_TASKS tasks, each placing ORDERS_PER_TASK
# orders between the busy accounts (both buyers and shops) and ending each
# one its own way
ORDER_TASKS = 20
ORDERS_PER_TASK = 15
ORDER_MAX_PRICE = 40
ORDER_ENDINGS = ("deliver", "discount", "cancel", "contest", "late", "abandon")
HOLD_ON_ACCOUNTS = "SELECT * FROM hold('accounts', $1, $2, $3, expires_in => $4)"
EXPIRES_AT_ONCE = timedelta(milliseconds=1)
# The busy accounts and their open holds, read in one snapshot
ACCOUNTS_TOTAL = (
    "SELECT (SELECT sum(balance) FROM accounts WHERE id = ANY($1))"
    " + (SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds"
    "    WHERE state = 'held' AND from_table = 'accounts'::regclass)")


def order_plan(seed):
    """Each task's list of (buyer, shop, price, ending, discount)."""
    rng = random.Random(seed)
    tasks = []
    for _ in range(ORDER_TASKS):
        orders = []
        for _ in range(ORDERS_PER_TASK):
            buyer, shop = rng.sample(BUSY_ACCOUNTS, 2)
            price = rng.randint(1, ORDER_MAX_PRICE)
            orders.append((buyer, shop, price, rng.choice(ORDER_ENDINGS),
                           rng.randint(0, price - 1)))
        tasks.append(orders)
    return tasks


class OrderCrowd(unittest.TestCase):
    def test_twenty_tasks_placing_capturing_and_cancelling_keep_the_invariant(self):
        """20 tasks on a pool of 20 connections, 15 orders each between the
        8 busy accounts: each order delivered, delivered with a discount,
        cancelled, delivered and cancelled at once from two connections,
        tried after its expiry, or abandoned to release_expired(), which
        every task also calls now and then.  While they run, every snapshot
        has the balances plus the open holds at 800; at the end every hold
        is in the state its caller was told, its journal rows add up, the
        journal replays to every balance recorded and stored, and nothing
        is negative."""
        unexpected, refused, expired_by_job = [], [0], [0]
        orders = {}     # hold_id -> what the callers were told

        async def shopper(pool, plan):
            for n, (buyer, shop, price, ending, discount) in enumerate(plan):
                try:
                    await place_and_end(pool, buyer, shop, price, ending, discount)
                    if n % 5 == 4:
                        # (not "+= await": the sum would be read before the wait)
                        released = await pool.fetchval(RELEASE_EXPIRED)
                        expired_by_job[0] += released
                except asyncpg.PostgresError as e:
                    unexpected.append((e.sqlstate, str(e)))

        async def place_and_end(pool, buyer, shop, price, ending, discount):
            soon = ending in ("late", "abandon")
            try:
                hold_id, from_balance = await pool.fetchrow(
                    HOLD_ON_ACCOUNTS, str(buyer), str(shop), price,
                    EXPIRES_AT_ONCE if soon else timedelta(hours=1))
            except asyncpg.exceptions.CheckViolationError:
                refused[0] += 1
                return
            told = orders[hold_id] = {"buyer": buyer, "shop": shop, "price": price,
                                      "ending": ending, "hold": from_balance}
            await asyncio.sleep(0)
            if ending == "deliver":
                told["capture"] = tuple(await pool.fetchrow(CAPTURE, hold_id, None))
            elif ending == "discount":
                told["discount"] = discount
                told["capture"] = tuple(await pool.fetchrow(CAPTURE, hold_id,
                                                            price - discount))
            elif ending == "cancel":
                told["release"] = await pool.fetchval(RELEASE, hold_id)
            elif ending == "contest":
                (by_capture, captured), (by_release, released) = await asyncio.gather(
                    settle(pool, CAPTURE, hold_id, None), settle(pool, RELEASE, hold_id))
                told["contest"] = (by_capture, by_release)
                if by_capture == "ok":
                    told["capture"] = tuple(captured)
                if by_release == "ok":
                    told["release"] = released[0]
            elif ending == "late":
                await asyncio.sleep(0.005)
                told["try"] = tuple(await pool.fetchrow(TRY_CAPTURE, hold_id, None))

        async def watch(conn, done, seen):
            while not done.is_set():
                seen.append(await conn.fetchval(ACCOUNTS_TOTAL, BUSY_ACCOUNTS))
                await asyncio.sleep(0.005)

        async def body(conn):
            await reset_orders(conn)
            initial = await balances(conn)
            mark = await conn.fetchval(
                "SELECT coalesce(max(transfer_id), 0) FROM transfer_guard_journal")
            done, seen = asyncio.Event(), []
            watcher = await asyncpg.connect()
            try:
                watching = asyncio.create_task(watch(watcher, done, seen))
                started = time.monotonic()
                async with asyncpg.create_pool(min_size=ORDER_TASKS,
                                               max_size=ORDER_TASKS) as pool:
                    await asyncio.gather(*(shopper(pool, p) for p in order_plan(seed=7)))
                elapsed = time.monotonic() - started
                done.set()
                await watching
            finally:
                await watcher.close()
            after_run = await conn.fetchval(ACCOUNTS_TOTAL, BUSY_ACCOUNTS)
            await asyncio.sleep(0.01)
            expired_at_end = await conn.fetchval(RELEASE_EXPIRED)
            views = {r["hold_id"]: tuple(r)[1:] for r in await conn.fetch(
                "SELECT hold_id, state, amount, captured FROM transfer_guard_holds"
                " WHERE hold_id = ANY($1)", list(orders))}
            journal_rows = await conn.fetch(
                "SELECT transfer_id, kind, hold_id, from_key, to_key, amount,"
                " from_balance, to_balance FROM transfer_guard_journal"
                " WHERE transfer_id > $1 ORDER BY transfer_id", mark)
            return (initial, seen, after_run, expired_at_end, views, journal_rows,
                    await balances(conn), await conn.fetchval(ACCOUNTS_TOTAL, BUSY_ACCOUNTS),
                    elapsed)

        (initial, seen, after_run, expired_at_end, views, journal_rows, final,
         final_total, elapsed) = run(body)
        endings = [o["ending"] for o in orders.values()]
        contests = [o["contest"] for o in orders.values() if "contest" in o]
        print("  order tasks: %d placed, %d refused (23514), %s; contests won by"
              " capture %d, by release %d; %d released by release_expired() during"
              " the run, %d at the end; %d snapshots; %.1fs"
              % (len(orders), refused[0],
                 ", ".join("%d %s" % (endings.count(e), e) for e in ORDER_ENDINGS),
                 sum(1 for c in contests if c[0] == "ok"),
                 sum(1 for c in contests if c[1] == "ok"),
                 expired_by_job[0], expired_at_end, len(seen), elapsed))

        self.assertEqual(unexpected, [], "errors other than 23514 and the refusals expected")
        total = sum(initial.values())
        self.assertGreater(len(seen), 0)
        self.assertEqual([t for t in seen if t != total], [],
                         "a snapshot with the balances plus the open holds changed")
        self.assertEqual(after_run, total)
        self.assertEqual(final_total, total)
        self.assertEqual(sum(final.values()), total)
        self.assertEqual({k: v for k, v in final.items() if v < 0}, {})
        self.assertGreater(endings.count("abandon"), 0)
        self.assertGreater(len(contests), 0)
        expired = expired_by_job[0] + expired_at_end
        self.assertGreaterEqual(expired, endings.count("abandon"))
        self.assertLessEqual(expired, endings.count("abandon") + endings.count("late"))

        by_hold = {}
        for row in journal_rows:
            by_hold.setdefault(row["hold_id"], []).append(row)
        self.assertEqual(set(by_hold), set(orders), "journal rows of holds not placed,"
                         " or holds placed without journal rows")
        for hold_id, told in orders.items():
            with self.subTest(hold_id=hold_id, told=told):
                buyer, shop, price = str(told["buyer"]), str(told["shop"]), told["price"]
                rows = by_hold[hold_id]
                steps = [(r["kind"], r["from_key"], r["to_key"], r["amount"]) for r in rows]
                self.assertEqual(rows[0]["transfer_id"], hold_id)
                self.assertEqual(rows[0]["from_balance"], told["hold"])
                state, amount, captured = views[hold_id]
                self.assertEqual(amount, price)
                if "capture" in told:
                    transfer_id, from_balance, to_balance = told["capture"]
                    taken = price - told.get("discount", 0)
                    self.assertEqual((state, captured), ("captured", taken))
                    self.assertEqual(rows[1]["transfer_id"], transfer_id)
                    self.assertEqual(rows[1]["to_balance"], to_balance)
                    want = [("hold", buyer, None, price), ("capture", None, shop, taken)]
                    if taken < price:
                        want.append(("release", None, buyer, price - taken))
                        self.assertEqual(rows[2]["to_balance"], from_balance)
                    else:
                        self.assertIsNone(from_balance)
                    self.assertEqual(steps, want)
                elif "release" in told:
                    self.assertEqual(state, "released")
                    self.assertEqual(steps, [("hold", buyer, None, price),
                                             ("release", None, buyer, price)])
                    self.assertEqual(rows[1]["to_balance"], told["release"])
                else:
                    self.assertIn(told["ending"], ("late", "abandon"))
                    self.assertEqual(state, "expired")
                    self.assertEqual(steps, [("hold", buyer, None, price),
                                             ("expire", None, buyer, price)])
                    if told["ending"] == "late":
                        self.assertEqual(told["try"], ("expired", None, None, None))
                if told["ending"] == "contest":
                    self.assertIn(told["contest"], [("ok", "already delivered"),
                                                    ("already cancelled", "ok")])

        # the journal replays: each balance it recorded, and the stored ones
        balance = dict(initial)
        for row in journal_rows:
            if row["from_key"] is not None:
                balance[int(row["from_key"])] -= row["amount"]
                if row["from_balance"] is not None:
                    self.assertEqual(row["from_balance"], balance[int(row["from_key"])],
                                     "transfer %d" % row["transfer_id"])
            if row["to_key"] is not None:
                balance[int(row["to_key"])] += row["amount"]
                self.assertEqual(row["to_balance"], balance[int(row["to_key"])],
                                 "transfer %d" % row["transfer_id"])
        self.assertEqual(balance, final)


class Errors(unittest.TestCase):
    """Every documented error, by its exception class, with its SQLSTATE and
    error fields (errors.json; each case in a transaction rolled back)."""

    def check(self, case):
        # the extension's own codes (TG002, ...), which asyncpg does not
        # know, arrive as UnknownPostgresError
        cls = ERROR_CLASSES.get(case["sqlstate"], asyncpg.exceptions.UnknownPostgresError)

        async def body(conn):
            with self.assertRaises(cls) as cm:
                async with conn.transaction():
                    for stmt in case.get("setup", []):
                        await conn.execute(stmt)
                    await conn.fetch(case["sql"], *case_params(case["params"]))
            return cm.exception
        e = run(body)
        if cls is asyncpg.exceptions.UnknownPostgresError:
            self.assertIs(type(e), cls)
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
