"""
The chat bot scenario in Django: take N units from Object1.field1 of one row
and add them to Object2.field2 of another, from concurrent callers.

The ORM's read-check-save loses updates and check-then-F() overdraws, even
inside atomic(); select_for_update() in request order deadlocks when two
users pay each other; one call to transfer() through connection.cursor()
keeps every invariant, from threads and from async code, and its errors
arrive as Django's exception classes wrapping the driver's, by SQLSTATE.

Each thread uses its own database connection (Django's are per thread) and
closes it when done.  The database is PGDATABASE; the tables come from the
bot app's migrations, which also create the extension and the guards.
"""

import asyncio
import os
import random
import sys
import threading
import unittest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

import psycopg2.errors  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import (DatabaseError, DataError, IntegrityError,  # noqa: E402
                       InternalError, OperationalError, connection,
                       connections, transaction)

from bot.models import Object1, Object2  # noqa: E402
from bot.payments import (InsufficientBalance, pay_checked_then_f,  # noqa: E402
                          pay_locked, pay_naive, transfer)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
from tgclients import Ledger, assert_ledger  # noqa: E402

USERS = range(1, 9)          # Object1 rows: the users' wallets, 100 each
SHOPS = range(1, 9)          # Object2 rows: what they pay into, 0 each
BARRIER_TIMEOUT = 30


def setUpModule():
    call_command("migrate", verbosity=0)


def reset():
    Object1.objects.all().delete()
    Object2.objects.all().delete()
    Object1.objects.bulk_create(Object1(pk=u, field1=100) for u in USERS)
    Object2.objects.bulk_create(Object2(pk=s, field2=0) for s in SHOPS)


def snapshot():
    """Every balance, keyed ("object1", pk) / ("object2", pk)."""
    rows = {("object1", pk): v for pk, v in Object1.objects.values_list("pk", "field1")}
    rows.update({("object2", pk): v for pk, v in Object2.objects.values_list("pk", "field2")})
    return rows


def run_threads(targets):
    """Run each callable in its own thread (so with its own connection);
    return what each returned or raised, in order."""
    outcomes = [None] * len(targets)

    def run(i, target):
        try:
            outcomes[i] = ("ok", target())
        except Exception as e:  # collected and asserted on by the test
            outcomes[i] = ("error", e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def sqlstate(e):
    """The SQLSTATE of a Django database error: Django wraps the driver's
    exception (psycopg2 here) and keeps it as __cause__."""
    return getattr(e.__cause__, "pgcode", None)


class ClientSidePatterns(unittest.TestCase):
    """What the usual ORM code does under concurrent callers."""

    def setUp(self):
        reset()

    def test_naive_read_check_save_loses_updates_when_users_pay_one_shop(self):
        """8 users pay 10 each into shop 1 with read-check-save in atomic();
        all reads happen before any write (a barrier): every payment is
        reported done, every wallet is debited, but the shop keeps only one
        credit: the total of the balances drops."""
        barrier = threading.Barrier(len(USERS), timeout=BARRIER_TIMEOUT)
        before = snapshot()
        outcomes = run_threads([
            (lambda u=u: pay_naive(Object1(pk=u), "field1", Object2(pk=1), "field2",
                                   10, between=barrier.wait))
            for u in USERS])
        after = snapshot()
        self.assertEqual([o[0] for o in outcomes], ["ok"] * len(USERS))
        print("\n  naive: %d payments of 10 reported; shop 1 holds %d; total %d -> %d"
              % (len(USERS), after[("object2", 1)], sum(before.values()),
                 sum(after.values())), end=" ")
        self.assertLess(after[("object2", 1)], 10 * len(USERS))
        self.assertNotEqual(sum(after.values()), sum(before.values()))

    def test_naive_check_then_f_update_overdraws(self):
        """8 callers take 10 each from a wallet of 50, checking the balance
        first and updating with F() in atomic(); all checks happen before
        any update (a barrier): all 8 pass and the wallet goes negative."""
        Object1.objects.filter(pk=1).update(field1=50)
        barrier = threading.Barrier(8, timeout=BARRIER_TIMEOUT)
        outcomes = run_threads([
            (lambda: pay_checked_then_f(Object1(pk=1), "field1", Object2(pk=1), "field2",
                                        10, between=barrier.wait))
            for _ in range(8)])
        self.assertEqual([o[0] for o in outcomes], ["ok"] * 8)
        wallet = Object1.objects.get(pk=1).field1
        print("\n  check then F(): 8 payments of 10 from 50; wallet %d" % wallet, end=" ")
        self.assertLess(wallet, 0)

    def test_select_for_update_in_request_order_deadlocks_when_users_pay_each_other(self):
        """User 1 pays user 2 while user 2 pays user 1, each with atomic() +
        select_for_update() locking the payer first; both hold their first
        lock before asking for the second (a barrier): PostgreSQL aborts one
        with a deadlock, OperationalError wrapping psycopg2's
        DeadlockDetected, SQLSTATE 40P01; the other payment goes through."""
        barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
        outcomes = run_threads([
            (lambda: pay_locked(Object1(pk=1), "field1", Object1(pk=2), "field1", 10,
                                after_first_lock=barrier.wait)),
            (lambda: pay_locked(Object1(pk=2), "field1", Object1(pk=1), "field1", 5,
                                after_first_lock=barrier.wait)),
        ])
        errors = [o[1] for o in outcomes if o[0] == "error"]
        self.assertEqual(len(errors), 1, outcomes)
        e = errors[0]
        self.assertIsInstance(e, OperationalError)
        self.assertIsInstance(e.__cause__, psycopg2.errors.DeadlockDetected)
        self.assertEqual(sqlstate(e), "40P01")
        wallets = dict(Object1.objects.filter(pk__in=[1, 2]).values_list("pk", "field1"))
        self.assertIn(wallets, [{1: 90, 2: 110}, {1: 105, 2: 95}])


class TransferCall(unittest.TestCase):
    """The same workloads through transfer(), via bot.payments.transfer."""

    def setUp(self):
        reset()

    def test_users_pay_one_shop_concurrently_and_the_total_is_kept(self):
        """8 users pay 10 each into shop 1 at the same moment (a barrier
        before the call): all 8 credits arrive, the total is unchanged."""
        barrier = threading.Barrier(len(USERS), timeout=BARRIER_TIMEOUT)
        before = snapshot()

        def pay(u):
            barrier.wait()
            return transfer(Object1(pk=u), "field1", Object2(pk=1), "field2", 10)

        outcomes = run_threads([(lambda u=u: pay(u)) for u in USERS])
        after = snapshot()
        self.assertEqual([o[0] for o in outcomes], ["ok"] * len(USERS), outcomes)
        self.assertEqual(after[("object2", 1)], 10 * len(USERS))
        self.assertEqual(sum(after.values()), sum(before.values()))
        self.assertEqual({after[("object1", u)] for u in USERS}, {90})

    def test_overdraft_is_refused_and_caught_by_class(self):
        """8 callers take 10 each from a wallet of 50 at the same moment:
        exactly 5 succeed; the other 3 get IntegrityError wrapping psycopg2's
        CheckViolation (23514), with the table, column and constraint in its
        diagnostics; the wallet ends at 0."""
        Object1.objects.filter(pk=1).update(field1=50)
        barrier = threading.Barrier(8, timeout=BARRIER_TIMEOUT)

        def pay():
            barrier.wait()
            return transfer(Object1(pk=1), "field1", Object2(pk=1), "field2", 10)

        outcomes = run_threads([pay] * 8)
        accepted = [o[1] for o in outcomes if o[0] == "ok"]
        refused = [o[1] for o in outcomes if o[0] == "error"]
        self.assertEqual(len(accepted), 5)
        self.assertEqual(len(refused), 3)
        for e in refused:
            self.assertIsInstance(e, IntegrityError)
            self.assertIsInstance(e.__cause__, psycopg2.errors.CheckViolation)
            diag = e.__cause__.diag
            self.assertEqual((sqlstate(e), diag.table_name, diag.column_name,
                              diag.constraint_name),
                             ("23514", "bot_object1", "field1",
                              "transfer_guard_min_balance"))
        self.assertEqual(sorted(a[1] for a in accepted), [0, 10, 20, 30, 40])
        self.assertEqual(Object1.objects.get(pk=1).field1, 0)
        self.assertEqual(Object2.objects.get(pk=1).field2, 50)

    def test_users_paying_each_other_never_deadlock(self):
        """User 1 pays user 2 and user 2 pays user 1, 200 times each at the
        same time: no deadlock, no error, and the balances replay.  (Wallets
        of 1000, so that however the two run ahead of each other, none is
        refused.)"""
        Object1.objects.filter(pk__in=[1, 2]).update(field1=1000)
        ledger, lock = Ledger(), threading.Lock()
        barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
        before = snapshot()

        def pay_many(src, dst):
            barrier.wait()
            for _ in range(200):
                row = transfer(Object1(pk=src), "field1", Object1(pk=dst), "field1", 1)
                with lock:
                    ledger.accept(("object1", src), ("object1", dst), 1, row)

        outcomes = run_threads([lambda: pay_many(1, 2), lambda: pay_many(2, 1)])
        self.assertEqual([o[0] for o in outcomes], ["ok", "ok"], outcomes)
        self.assertEqual(len(ledger.accepted), 400)
        assert_ledger(self, ledger, before, snapshot())

    def test_errors_arrive_as_django_classes_with_the_sqlstate(self):
        """Each error is caught by class: Django's wrapper class, the driver's
        class as __cause__, and the SQLSTATE as __cause__.pgcode."""
        cases = [
            # (source, field, destination, field, amount) -> classes, SQLSTATE
            ((Object1(pk=1), "field1", Object2(pk=99), "field2", 1),
             InternalError, psycopg2.errors.NoDataFound, "P0002"),
            ((Object1(pk=1), "field1", Object2(pk=1), "field2", 0),
             DataError, psycopg2.errors.InvalidParameterValue, "22023"),
            ((Object1(pk=1), "field1", Object1(pk=1), "field1", 1),
             DataError, psycopg2.errors.InvalidParameterValue, "22023"),
            ((Object1(pk=1), "id", Object1(pk=2), "id", 1),
             OperationalError, psycopg2.errors.ObjectNotInPrerequisiteState, "55000"),
            ((Object1(pk=1), "field1", Object2(pk=1), "field2", 101),
             IntegrityError, psycopg2.errors.CheckViolation, "23514"),
        ]
        for args, django_class, driver_class, code in cases:
            with self.subTest(code=code, args=args[1:]):
                with self.assertRaises(django_class) as cm:
                    transfer(*args)
                self.assertIsInstance(cm.exception.__cause__, driver_class)
                self.assertEqual(sqlstate(cm.exception), code)
        # nothing changed, and the connection is still usable
        self.assertEqual(Object1.objects.get(pk=1).field1, 100)
        self.assertEqual(Object2.objects.get(pk=1).field2, 0)

    def test_transfer_inside_atomic_rolls_back_with_it(self):
        """transfer() runs in the caller's transaction: an exception later in
        the same atomic() block undoes it."""
        with self.assertRaises(RuntimeError):
            with transaction.atomic():
                transfer(Object1(pk=1), "field1", Object2(pk=1), "field2", 30)
                self.assertEqual(Object2.objects.get(pk=1).field2, 30)
                raise RuntimeError("the request failed after the payment")
        self.assertEqual(Object1.objects.get(pk=1).field1, 100)
        self.assertEqual(Object2.objects.get(pk=1).field2, 0)


class AsyncBot(unittest.TestCase):
    """The bot's async handlers calling the helper through sync_to_async."""

    def setUp(self):
        reset()

    def run_tasks(self, pay, tasks, seed):
        rng = random.Random(seed)
        moves = [(rng.choice(USERS), rng.choice(SHOPS), rng.randint(1, 5))
                 for _ in range(tasks)]
        ledger = Ledger()

        async def handle(user, shop, amount):
            try:
                row = await pay(Object1(pk=user), "field1", Object2(pk=shop), "field2",
                                amount)
            except IntegrityError as e:
                if isinstance(e.__cause__, psycopg2.errors.CheckViolation):
                    ledger.refused += 1
                else:
                    ledger.unexpected.append((sqlstate(e), str(e)))
            except DatabaseError as e:
                ledger.unexpected.append((sqlstate(e), str(e)))
            else:
                ledger.accept(("object1", user), ("object2", shop), amount, row)

        async def main():
            await asyncio.gather(*(handle(*m) for m in moves))

        before = snapshot()
        asyncio.run(main())
        return ledger, before, snapshot()

    def test_many_concurrent_tasks_on_worker_threads_keep_every_invariant(self):
        """300 concurrent tasks, each awaiting sync_to_async(transfer,
        thread_sensitive=False), so that the calls run on several threads
        with several connections: total kept, nothing negative, nothing
        lost, refusals arrive as CheckViolation."""
        threads = set()

        def pay(*args):
            threads.add(threading.get_ident())
            try:
                return transfer(*args)
            finally:
                connection.close()

        ledger, before, after = self.run_tasks(
            sync_to_async(pay, thread_sensitive=False), 300, seed=5)
        print("\n  sync_to_async on %d threads: %s" % (len(threads), ledger.summary()),
              end=" ")
        self.assertGreater(len(threads), 1)
        assert_ledger(self, ledger, before, after)

    def test_many_concurrent_tasks_through_the_default_sync_to_async(self):
        """150 concurrent tasks, each awaiting sync_to_async(transfer) with
        the default thread_sensitive=True: the calls share one thread and
        one connection, one after the other, and keep every invariant."""
        threads = set()

        def pay(*args):
            threads.add(threading.get_ident())
            return transfer(*args)

        ledger, before, after = self.run_tasks(sync_to_async(pay), 150, seed=6)
        print("\n  sync_to_async default on %d thread: %s" % (len(threads), ledger.summary()),
              end=" ")
        self.assertEqual(len(threads), 1)
        assert_ledger(self, ledger, before, after)
