"""
psycopg 3, sync and async: concurrent callers keep every invariant, every
documented error reaches the client with its SQLSTATE and error fields, the
overload psycopg's typed parameters resolve to, retries with an idempotency
key after a dropped connection move the money once, and try_transfer's
business outcomes arrive as rows.
"""

import asyncio
import threading
import time
import unittest
from decimal import Decimal

import psycopg
from psycopg import errors

from tgclients import (BUSY_ACCOUNTS, WAIT_SECONDS, DroppingProxy, Ledger,
                       assert_ledger, case_params, case_test_name,
                       error_cases, new_key, plan)

WORKERS = 8
PER_WORKER = 150


def transfer(conn, table, from_key, to_key, amount):
    """One guarded transfer; returns (transfer_id, from_balance, to_balance)."""
    return conn.execute("SELECT * FROM transfer(%s, %s, %s, %s)",
                        (table, from_key, to_key, amount)).fetchone()


async def atransfer(aconn, table, from_key, to_key, amount):
    cur = await aconn.execute("SELECT * FROM transfer(%s, %s, %s, %s)",
                              (table, from_key, to_key, amount))
    return await cur.fetchone()


def connect():
    return psycopg.connect("", autocommit=True)


def balances(conn, table="accounts", column="balance", keys=BUSY_ACCOUNTS):
    rows = conn.execute(
        "SELECT id, %s FROM %s WHERE id = ANY(%%s)" % (column, table),
        (list(keys),)).fetchall()
    return dict(rows)


def reset(conn):
    conn.execute("UPDATE accounts SET balance = 100")
    conn.execute("UPDATE object1 SET field1 = 100")
    conn.execute("UPDATE object2 SET field2 = 0")


def error_class(sqlstate):
    """psycopg's class for a SQLSTATE; the extension's own codes (TG002,
    ...), which psycopg does not know, arrive as its base DatabaseError."""
    try:
        return errors.lookup(sqlstate)
    except KeyError:
        return psycopg.DatabaseError


def as_placeholders(sql):
    """errors.json numbers its parameters $1, $2, ... in order of use;
    psycopg writes them %s."""
    n = 1
    while "$%d" % n in sql:
        sql = sql.replace("$%d" % n, "%s", 1)
        n += 1
    return sql


class Concurrency(unittest.TestCase):
    def setUp(self):
        with connect() as conn:
            reset(conn)

    def test_threads_each_with_a_connection_keep_every_invariant(self):
        """8 threads, each with its own connection, 150 random transfers each
        among 8 busy accounts: total kept, nothing negative, nothing lost."""
        ledger, lock = Ledger(), threading.Lock()
        with connect() as conn:
            initial = balances(conn)

        def work(moves):
            with connect() as conn:
                for src, dst, amount in moves:
                    try:
                        row = transfer(conn, "accounts", src, dst, amount)
                    except errors.CheckViolation:
                        with lock:
                            ledger.refused += 1
                    except psycopg.Error as e:
                        with lock:
                            ledger.unexpected.append((e.sqlstate, str(e)))
                    else:
                        with lock:
                            ledger.accept(src, dst, amount, row)

        threads = [threading.Thread(target=work, args=(moves,))
                   for moves in plan(WORKERS, PER_WORKER, seed=1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with connect() as conn:
            final = balances(conn)
        print("  sync threads:", ledger.summary())
        assert_ledger(self, ledger, initial, final)

    def test_async_tasks_each_with_a_connection_keep_every_invariant(self):
        """16 asyncio tasks, each with its own AsyncConnection, 75 random
        transfers each: total kept, nothing negative, nothing lost."""
        ledger = Ledger()

        async def work(moves):
            async with await psycopg.AsyncConnection.connect("", autocommit=True) as aconn:
                for src, dst, amount in moves:
                    try:
                        row = await atransfer(aconn, "accounts", src, dst, amount)
                    except errors.CheckViolation:
                        ledger.refused += 1
                    except psycopg.Error as e:
                        ledger.unexpected.append((e.sqlstate, str(e)))
                    else:
                        ledger.accept(src, dst, amount, row)

        async def main():
            await asyncio.gather(*(work(moves) for moves in plan(16, 75, seed=2)))

        with connect() as conn:
            initial = balances(conn)
        asyncio.run(main())
        with connect() as conn:
            final = balances(conn)
        print("  async tasks:", ledger.summary())
        assert_ledger(self, ledger, initial, final)

    def test_two_callers_paying_each_other_never_deadlock(self):
        """Two connections move 1 -> 2 and 2 -> 1 at the same time, 300
        times each: the pattern that deadlocks client-side locking never
        raises 40P01 here, and the balances replay.  (Balances of 1000, so
        that however the two run ahead of each other, none is refused.)"""
        ledger, lock = Ledger(), threading.Lock()
        barrier = threading.Barrier(2)
        with connect() as conn:
            conn.execute("UPDATE accounts SET balance = 1000 WHERE id IN (1, 2)")
            initial = balances(conn, keys=[1, 2])

        def work(src, dst):
            with connect() as conn:
                barrier.wait()
                for _ in range(300):
                    try:
                        row = transfer(conn, "accounts", src, dst, 1)
                    except psycopg.Error as e:
                        with lock:
                            ledger.unexpected.append((e.sqlstate, str(e)))
                    else:
                        with lock:
                            ledger.accept(src, dst, 1, row)

        threads = [threading.Thread(target=work, args=p) for p in ((1, 2), (2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with connect() as conn:
            final = balances(conn, keys=[1, 2])
        self.assertEqual(len(ledger.accepted), 600)
        assert_ledger(self, ledger, initial, final)


class Calls(unittest.TestCase):
    def setUp(self):
        with connect() as conn:
            reset(conn)

    def test_bot_scenario_object1_field1_into_object2_field2(self):
        """Take 30 from object1.field1 of row 1, add it to object2.field2 of
        row 2, in one call; the balances returned are the ones stored."""
        with connect() as conn:
            row = conn.execute(
                "SELECT * FROM transfer(%s, %s, %s, %s,"
                " to_table => %s, to_column => %s)",
                ("object1", 1, 2, 30, "object2", "field2")).fetchone()
            self.assertEqual(row[1:], (Decimal(70), Decimal(30)))
            self.assertEqual(balances(conn, "object1", "field1", [1])[1], 70)
            self.assertEqual(balances(conn, "object2", "field2", [2])[2], 30)

    def test_int_keys_resolve_to_the_anycompatible_overload_str_keys_to_text(self):
        """psycopg 3 sends a Python int typed (smallint for small values) and
        a str untyped: int keys pick transfer(regclass, anycompatible, ...),
        str keys transfer(regclass, text, text, ...); both work."""
        with connect() as conn:
            sql = "SELECT * FROM transfer(%s, %s, %s, %s)"
            conn.execute(sql, ("accounts", 1, 2, 1), prepare=True)
            conn.execute(sql, ("accounts", "2", "1", 1), prepare=True)
            types = [r[0] for r in conn.execute(
                "SELECT parameter_types::text FROM pg_prepared_statements"
                " WHERE statement LIKE '%%transfer($1%%' ORDER BY prepare_time")]
            self.assertEqual(types, ["{regclass,smallint,smallint,smallint}",
                                     "{regclass,text,text,smallint}"])
            self.assertEqual(balances(conn, keys=[1, 2]), {1: 100, 2: 100})

    def test_int_keys_work_whatever_their_size_when_passed_as_str(self):
        """Keys of different sizes (1, 40000, 3000000000) work when passed
        as str: they reach the text overload and the key's own type."""
        with connect() as conn:
            transfer(conn, "accounts", "1", "40000", 1)
            transfer(conn, "accounts", "40000", "3000000000", 1)
            self.assertEqual(balances(conn, keys=[1, 40000, 3000000000]),
                             {1: 99, 40000: 100, 3000000000: 101})

    def test_int_keys_of_different_sizes_transfer(self):
        """psycopg 3 types 1 as smallint, 40000 as integer and 3000000000 as
        bigint; transfer()'s keys are anycompatible, so the two are unified
        to the wider type (not 42883 undefined_function, as when they were
        anyelement) and each reaches its row of the bigint key."""
        with connect() as conn:
            sql = "SELECT * FROM transfer(%s, %s, %s, %s)"
            conn.execute(sql, ("accounts", 1, 40000, 1), prepare=True)
            conn.execute(sql, ("accounts", 40000, 3000000000, 1), prepare=True)
            types = [r[0] for r in conn.execute(
                "SELECT parameter_types::text FROM pg_prepared_statements"
                " WHERE statement LIKE '%%transfer($1%%' ORDER BY prepare_time")]
            self.assertEqual(types, ["{regclass,smallint,integer,smallint}",
                                     "{regclass,integer,bigint,smallint}"])
            self.assertEqual(balances(conn, keys=[1, 40000, 3000000000]),
                             {1: 99, 40000: 100, 3000000000: 101})


KEYED_TRANSFER = ("SELECT * FROM transfer(%s, %s, %s, %s,"
                  " idempotency_key => %s)")
KEYED_TRY = ("SELECT * FROM try_transfer(%s, %s, %s, %s,"
             " idempotency_key => %s)")
TRY = "SELECT * FROM try_transfer(%s, %s, %s, %s)"

# The keyed moves of the crowd tests: several keys, one of them sharing a
# row with another; each key is sent by CROWD callers at once
CROWD_MOVES = [(1, 2, 10), (3, 4, 20), (5, 6, 30), (2, 7, 5)]
CROWD = 10


def journal(conn, key):
    """The journal's rows for an idempotency key, as (transfer_id,
    from_balance, to_balance)."""
    return conn.execute(
        "SELECT transfer_id, from_balance, to_balance FROM transfer_guard_journal"
        " WHERE idempotency_key = %s ORDER BY transfer_id", (key,)).fetchall()


def connect_via(proxy, autocommit=True):
    return psycopg.connect("", host=proxy.host, port=proxy.port,
                           autocommit=autocommit, connect_timeout=WAIT_SECONDS)


async def aconnect(proxy=None, autocommit=True):
    where = {"host": proxy.host, "port": proxy.port} if proxy else {}
    return await psycopg.AsyncConnection.connect(
        "", autocommit=autocommit, connect_timeout=WAIT_SECONDS, **where)


def wait_until(test, predicate, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            test.fail("timed out waiting until " + what)
        time.sleep(0.02)


def backend_gone(conn, pid):
    return conn.execute("SELECT NOT EXISTS (SELECT FROM pg_stat_activity"
                        " WHERE pid = %s)", (pid,)).fetchone()[0]


# How many try_transfer requests of this database wait on a lock
QUEUED_REQUESTS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    " AND query LIKE '%try_transfer%'")


def queued_requests(conn):
    return conn.execute(QUEUED_REQUESTS).fetchone()[0]


def crowd_keys():
    return {new_key("crowd-%d" % i): move for i, move in enumerate(CROWD_MOVES)}


def balances_after_once(moves):
    """BUSY_ACCOUNTS' balances after reset() and each move applied once."""
    expected = {k: 100 for k in BUSY_ACCOUNTS}
    for src, dst, amount in moves:
        expected[src] -= amount
        expected[dst] += amount
    return expected


def check_crowd(test, conn, keys, replies, failures):
    """Per key: one 'ok' and CROWD - 1 'duplicate', every reply with the same
    transfer id and balances, one journal row, equal to them; and the
    balances of every move applied once."""
    test.assertEqual(failures, [], "requests that raised")
    for key in keys:
        test.assertEqual(sorted(r[0] for r in replies[key]),
                         ["duplicate"] * (CROWD - 1) + ["ok"], key)
        results = {r[1:] for r in replies[key]}
        test.assertEqual(len(results), 1, "%s: replies differ: %s" % (key, results))
        test.assertEqual(journal(conn, key), list(results), key)
    test.assertEqual(balances(conn), balances_after_once(keys.values()))


class Idempotency(unittest.TestCase):
    """A client that lost its connection retries with the same idempotency
    key: whether or not the first attempt committed, the money moves once.
    The connection is dropped by a proxy (DroppingProxy) at a chosen point
    of the protocol, so the server really commits (or not) and the client
    really gets no reply."""

    def setUp(self):
        with connect() as conn:
            reset(conn)

    def test_reply_lost_after_commit_retry_returns_the_original_transfer(self):
        """A keyed transfer in autocommit is executed and committed by the
        server, but the connection drops before the client gets the reply.
        The client reconnects and retries with the same key (after another
        transfer changed row 1): transfer() returns the original transfer id
        and the balances recorded then, try_transfer() reports 'duplicate'
        with them, and the money moved once."""
        key = new_key("lost-reply")
        with DroppingProxy() as proxy:
            proxy.lose_reply_to(key.encode())
            with connect_via(proxy) as conn:
                with self.assertRaises(psycopg.OperationalError):
                    conn.execute(KEYED_TRANSFER, ("accounts", 1, 2, 30, key))
            self.assertTrue(proxy.committed_unseen(),
                            "the server did not commit: %r %r"
                            % (proxy.reply_types, proxy.ready_status))
        with connect() as retry:
            original = journal(retry, key)
            self.assertEqual([r[1:] for r in original], [(70, 130)])
            transfer(retry, "accounts", 1, 3, 5)
            self.assertEqual(retry.execute(KEYED_TRANSFER,
                                           ("accounts", 1, 2, 30, key)).fetchone(),
                             original[0])
            self.assertEqual(retry.execute(KEYED_TRY,
                                           ("accounts", 1, 2, 30, key)).fetchone(),
                             ("duplicate",) + original[0])
            self.assertEqual(journal(retry, key), original)
            self.assertEqual(balances(retry, keys=[1, 2, 3]), {1: 65, 2: 130, 3: 105})

    def test_commit_reply_lost_retry_returns_the_original_transfer(self):
        """A keyed transfer in an explicit transaction: the server commits,
        but the reply to COMMIT is lost with the connection, so commit()
        raises and the client cannot tell.  The retry with the same key on a
        new connection returns the transfer id the client saw before COMMIT,
        and the money moved once."""
        key = new_key("lost-commit-reply")
        with DroppingProxy() as proxy:
            proxy.lose_reply_to(b"COMMIT")
            with connect_via(proxy, autocommit=False) as conn:
                seen = conn.execute(KEYED_TRANSFER,
                                    ("accounts", 1, 2, 30, key)).fetchone()
                with self.assertRaises(psycopg.OperationalError):
                    conn.commit()
            self.assertTrue(proxy.committed_unseen(),
                            "the server did not commit: %r %r"
                            % (proxy.reply_types, proxy.ready_status))
        with connect() as retry:
            self.assertEqual(retry.execute(KEYED_TRANSFER,
                                           ("accounts", 1, 2, 30, key)).fetchone(),
                             seen)
            self.assertEqual(seen[1:], (70, 130))
            self.assertEqual(journal(retry, key), [seen])
            self.assertEqual(balances(retry, keys=[1, 2]), {1: 70, 2: 130})

    def test_dropped_before_commit_the_retry_moves_the_money_once(self):
        """A keyed transfer in an explicit transaction, and the connection
        drops before COMMIT reaches the server: the server rolls back (no
        journal row, balances unchanged), so the retry with the same key
        moves the money itself ('ok', a new transfer id), once; a second
        retry is a 'duplicate' of it."""
        key = new_key("before-commit")
        with DroppingProxy() as proxy, connect() as watcher:
            proxy.drop_at(b"COMMIT")
            with connect_via(proxy, autocommit=False) as conn:
                pid = conn.info.backend_pid
                lost = conn.execute(KEYED_TRANSFER,
                                    ("accounts", 1, 2, 30, key)).fetchone()
                with self.assertRaises(psycopg.OperationalError):
                    conn.commit()
            self.assertTrue(proxy.wait_dropped())
            self.assertIn(b"COMMIT", proxy.withheld)
            wait_until(self, lambda: backend_gone(watcher, pid),
                       "the dropped connection's backend is gone")
            self.assertEqual(journal(watcher, key), [])
            self.assertEqual(balances(watcher, keys=[1, 2]), {1: 100, 2: 100})
        with connect() as retry:
            moved = retry.execute(KEYED_TRY, ("accounts", 1, 2, 30, key)).fetchone()
            self.assertEqual((moved[0], moved[2:]), ("ok", (70, 130)))
            self.assertNotEqual(moved[1], lost[0])
            again = retry.execute(KEYED_TRY, ("accounts", 1, 2, 30, key)).fetchone()
            self.assertEqual(again, ("duplicate",) + moved[1:])
            self.assertEqual(journal(retry, key), [moved[1:]])
            self.assertEqual(balances(retry, keys=[1, 2]), {1: 70, 2: 130})

    def test_same_key_with_another_amount_raises_tg001(self):
        """A key already used, sent again with another amount: SQLSTATE
        TG001, which psycopg (not knowing the code) raises as its base
        DatabaseError, with the detail naming the difference; nothing moves
        and the connection goes on."""
        key = new_key("other-amount")
        with connect() as conn:
            first = conn.execute(KEYED_TRANSFER, ("accounts", 1, 2, 30, key)).fetchone()
            for sql in (KEYED_TRANSFER, KEYED_TRY):
                with self.assertRaises(psycopg.DatabaseError) as cm:
                    conn.execute(sql, ("accounts", 1, 2, 31, key))
                self.assertIs(type(cm.exception), psycopg.DatabaseError)
                self.assertEqual(cm.exception.sqlstate, "TG001")
                self.assertIn("amount 30, not 31", cm.exception.diag.message_detail)
            self.assertEqual(journal(conn, key), [first])
            self.assertEqual(balances(conn, keys=[1, 2]), {1: 70, 2: 130})

    def test_same_key_from_ten_threads_at_once_moves_the_money_once_per_key(self):
        """Four keys, ten threads per key, each with its own connection,
        all sending try_transfer with their key while another connection
        holds the rows, so that the 40 requests are all queued at once:
        per key one 'ok' and nine 'duplicate' with the same transfer id and
        balances, one journal row, and the money moved once per key."""
        keys = crowd_keys()
        replies = {key: [] for key in keys}
        failures, lock = [], threading.Lock()
        barrier = threading.Barrier(len(keys) * CROWD)

        def request(key):
            src, dst, amount = keys[key]
            try:
                with connect() as conn:
                    barrier.wait(WAIT_SECONDS)
                    row = conn.execute(KEYED_TRY, ("accounts", src, dst, amount,
                                                   key)).fetchone()
                with lock:
                    replies[key].append(row)
            except Exception as e:   # noqa: BLE001 -- reported by the test
                with lock:
                    failures.append(repr(e))

        threads = [threading.Thread(target=request, args=(key,))
                   for key in keys for _ in range(CROWD)]
        with connect() as watcher, psycopg.connect("") as holder:
            holder.execute("SELECT FROM accounts WHERE id = ANY(%s) FOR UPDATE",
                           (list(BUSY_ACCOUNTS),))
            try:
                for t in threads:
                    t.start()
                wait_until(self, lambda: queued_requests(watcher) == len(threads),
                           "all %d requests wait" % len(threads))
            finally:
                holder.rollback()
                for t in threads:
                    t.join(WAIT_SECONDS)
            check_crowd(self, watcher, keys, replies, failures)

    def test_async_reply_lost_after_commit_retry_returns_the_original_transfer(self):
        """From an AsyncConnection: the keyed transfer commits but its reply
        is lost with the connection; the retry with the same key on a new
        connection returns the original transfer id and balances, and the
        money moved once."""
        key = new_key("async-lost-reply")

        async def main(proxy):
            proxy.lose_reply_to(key.encode())
            async with await aconnect(proxy) as aconn:
                with self.assertRaises(psycopg.OperationalError):
                    cur = await aconn.execute(KEYED_TRANSFER,
                                              ("accounts", 1, 2, 30, key))
                    await cur.fetchone()
            async with await aconnect() as retry:
                cur = await retry.execute(KEYED_TRY, ("accounts", 1, 2, 30, key))
                return await cur.fetchone()

        with DroppingProxy() as proxy:
            again = asyncio.run(main(proxy))
            self.assertTrue(proxy.committed_unseen(),
                            "the server did not commit: %r %r"
                            % (proxy.reply_types, proxy.ready_status))
        with connect() as conn:
            original = journal(conn, key)
            self.assertEqual([r[1:] for r in original], [(70, 130)])
            self.assertEqual(again, ("duplicate",) + original[0])
            self.assertEqual(balances(conn, keys=[1, 2]), {1: 70, 2: 130})

    def test_async_dropped_before_commit_the_retry_moves_the_money_once(self):
        """From an AsyncConnection: the connection drops before COMMIT
        reaches the server, the transaction rolls back, and the retry with
        the same key moves the money itself, once."""
        key = new_key("async-before-commit")

        async def main(proxy):
            proxy.drop_at(b"COMMIT")
            async with await aconnect(proxy, autocommit=False) as aconn:
                pid = aconn.info.backend_pid
                cur = await aconn.execute(KEYED_TRANSFER,
                                          ("accounts", 1, 2, 30, key))
                lost = await cur.fetchone()
                with self.assertRaises(psycopg.OperationalError):
                    await aconn.commit()
            async with await aconnect() as retry:
                deadline = time.monotonic() + WAIT_SECONDS
                while True:
                    cur = await retry.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
                    if (await cur.fetchone())[0] == 0:
                        break
                    self.assertLess(time.monotonic(), deadline,
                                    "the dropped connection's backend is still there")
                    await asyncio.sleep(0.02)
                cur = await retry.execute(KEYED_TRY, ("accounts", 1, 2, 30, key))
                return lost, await cur.fetchone()

        with DroppingProxy() as proxy:
            lost, moved = asyncio.run(main(proxy))
            self.assertIn(b"COMMIT", proxy.withheld)
        self.assertEqual((moved[0], moved[2:]), ("ok", (70, 130)))
        self.assertNotEqual(moved[1], lost[0])
        with connect() as conn:
            self.assertEqual(journal(conn, key), [moved[1:]])
            self.assertEqual(balances(conn, keys=[1, 2]), {1: 70, 2: 130})

    def test_async_same_key_from_ten_tasks_at_once_moves_the_money_once_per_key(self):
        """Four keys, ten asyncio tasks per key, each with its own
        AsyncConnection, all queued at once behind a connection holding the
        rows: per key one 'ok' and nine 'duplicate' with the same transfer
        id and balances, one journal row, and the money moved once."""
        keys = crowd_keys()
        replies = {key: [] for key in keys}
        failures = []

        async def request(aconn, key):
            src, dst, amount = keys[key]
            try:
                cur = await aconn.execute(KEYED_TRY, ("accounts", src, dst, amount, key))
                replies[key].append(await cur.fetchone())
            except psycopg.Error as e:
                failures.append(repr(e))

        async def main():
            order = [key for key in keys for _ in range(CROWD)]
            conns = await asyncio.gather(*(aconnect() for _ in order))
            holder = await aconnect(autocommit=False)
            watcher = await aconnect()
            try:
                await holder.execute("SELECT FROM accounts WHERE id = ANY(%s) FOR UPDATE",
                                     (list(BUSY_ACCOUNTS),))
                tasks = [asyncio.create_task(request(c, k)) for c, k in zip(conns, order)]
                deadline = time.monotonic() + WAIT_SECONDS
                while True:
                    cur = await watcher.execute(QUEUED_REQUESTS)
                    if (await cur.fetchone())[0] == len(order):
                        break
                    if time.monotonic() > deadline:
                        failures.append("timed out waiting until all requests wait")
                        break
                    await asyncio.sleep(0.02)
                await holder.rollback()
                await asyncio.wait_for(asyncio.gather(*tasks), WAIT_SECONDS)
            finally:
                for c in [*conns, holder, watcher]:
                    await c.close()

        asyncio.run(main())
        with connect() as conn:
            check_crowd(self, conn, keys, replies, failures)


class TryTransfer(unittest.TestCase):
    def setUp(self):
        with connect() as conn:
            reset(conn)
            conn.execute("UPDATE capped SET gems = CASE id WHEN 1 THEN 50 ELSE 90 END")

    def test_business_outcomes_are_rows_with_a_null_transfer_id(self):
        """try_transfer reports too little money, a missing row and a
        ceiling as statuses, with transfer_id None (NULL), and raises
        nothing: the transaction stays usable and the next call in it
        moves the money."""
        with psycopg.connect("") as conn:
            try:
                self.assertEqual(conn.execute(TRY, ("accounts", 1, 2, 1000)).fetchone(),
                                 ("insufficient_funds", None, 100, 100))
                self.assertEqual(conn.execute(TRY, ("accounts", 1, 9, 1)).fetchone(),
                                 ("not_found", None, None, None))
                self.assertEqual(conn.execute(TRY, ("capped", 1, 2, 20)).fetchone(),
                                 ("limit_exceeded", None, 50, 90))
                status, transfer_id, *after = conn.execute(
                    TRY, ("accounts", 1, 2, 30)).fetchone()
                self.assertEqual((status, after), ("ok", [70, 130]))
                self.assertIsInstance(transfer_id, int)
            finally:
                conn.rollback()

    def test_keyed_refusal_leaves_the_key_unused(self):
        """A keyed try_transfer refused for want of money records nothing:
        after a deposit, the same key moves the money ('ok'), once."""
        key = new_key("refused")
        with connect() as conn:
            refused = conn.execute(KEYED_TRY, ("accounts", 1, 2, 150, key)).fetchone()
            self.assertEqual(refused, ("insufficient_funds", None, 100, 100))
            self.assertEqual(journal(conn, key), [])
            transfer(conn, "accounts", 3, 1, 60)
            moved = conn.execute(KEYED_TRY, ("accounts", 1, 2, 150, key)).fetchone()
            self.assertEqual((moved[0], moved[2:]), ("ok", (10, 250)))
            self.assertEqual(conn.execute(KEYED_TRY, ("accounts", 1, 2, 150, key)).fetchone(),
                             ("duplicate",) + moved[1:])


class Errors(unittest.TestCase):
    """Every documented error, by its exception class, with its SQLSTATE and
    error fields (errors.json; each case in a transaction rolled back)."""

    def setUp(self):
        with connect() as conn:
            reset(conn)

    def check(self, case):
        with psycopg.connect("") as conn:
            try:
                for stmt in case.get("setup", []):
                    conn.execute(stmt)
                cls = error_class(case["sqlstate"])
                with self.assertRaises(cls) as cm:
                    conn.execute(as_placeholders(case["sql"]),
                                 case_params(case["params"]))
            finally:
                conn.rollback()
        e = cm.exception
        if cls is psycopg.DatabaseError:
            self.assertIs(type(e), cls)
        self.assertEqual(e.sqlstate, case["sqlstate"])
        want = case.get("fields", {})
        for field in ("schema", "table", "column", "constraint"):
            if field in want:
                self.assertEqual(getattr(e.diag, field + "_name"), want[field], field)
        if "context" in case:
            self.assertIn(case["context"], e.diag.context or "")

    def test_error_55p03_row_locked_by_another_connection_and_nowait(self):
        """A row locked by another connection: nowait => true raises 55P03
        (LockNotAvailable) at once."""
        with connect() as holder, psycopg.connect("") as conn:
            with holder.transaction():
                holder.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
                with self.assertRaises(errors.LockNotAvailable) as cm:
                    conn.execute("SELECT * FROM transfer(%s, %s, %s, %s, nowait => true)",
                                 ("accounts", 1, 2, 1))
                conn.rollback()
        self.assertEqual(cm.exception.sqlstate, "55P03")

    def test_error_23514_from_async_code_has_the_same_fields(self):
        """From an AsyncConnection the limit error arrives as CheckViolation
        with table, column and constraint."""
        async def main():
            async with await psycopg.AsyncConnection.connect("", autocommit=True) as aconn:
                with self.assertRaises(errors.CheckViolation) as cm:
                    await atransfer(aconn, "accounts", 1, 2, 1000)
                return cm.exception
        e = asyncio.run(main())
        self.assertEqual((e.sqlstate, e.diag.table_name, e.diag.column_name,
                          e.diag.constraint_name),
                         ("23514", "accounts", "balance", "transfer_guard_min_balance"))


def _add_error_case(case):
    def test(self):
        self.check(case)
    test.__doc__ = "%s: %s" % (case["sqlstate"], case["name"])
    setattr(Errors, case_test_name(case), test)


for _case in error_cases():
    _add_error_case(_case)
