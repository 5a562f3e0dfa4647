"""
The chat bot scenario in Django: take N units from Object1.field1 of one row
and add them to Object2.field2 of another, from concurrent callers.

The ORM's read-check-save loses updates and check-then-F() overdraws, even
inside atomic(); select_for_update() in request order deadlocks when two
users pay each other; one call to transfer() through connection.cursor()
keeps every invariant, from threads and from async code, and its errors
arrive as Django's exception classes wrapping the driver's, by SQLSTATE.

The bot's orders hold their price on the buyer's wallet (hold()) until
they are delivered (capture(), in full or with a discount), cancelled
(release()) or left to expire (try_capture(), release_expired()): the
balances, the holds' states in transfer_guard_holds, their journal rows and
the invariant (the balances plus the open holds are constant) after each
step, the refusals turned into the bot's exceptions by SQLSTATE, and a
delivery racing a cancellation of the same order.

Each thread uses its own database connection (Django's are per thread) and
closes it when done.  The database is PGDATABASE; the tables come from the
bot app's migrations, which also create the extension and the guards.
"""

import asyncio
import os
import random
import sys
import threading
import time
import unittest
from datetime import timedelta
from unittest.mock import ANY

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

import psycopg2.errors  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import (DatabaseError, DataError, IntegrityError,  # noqa: E402
                       InternalError, OperationalError, ProgrammingError,
                       connection, connections, transaction)

from bot.models import Object1, Object2, Order  # noqa: E402
from bot.payments import (AboveThePrice, AlreadyCancelled,  # noqa: E402
                          AlreadyDelivered, InsufficientBalance, NoSuchOrder,
                          NotYourOrder, OrderExpired, cancel, deliver,
                          expire_orders, pay_checked_then_f, pay_locked,
                          pay_naive, place_order, transfer, try_deliver)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
from tgclients import Ledger, assert_ledger  # noqa: E402

USERS = range(1, 9)          # Object1 rows: the users' wallets, 100 each
SHOPS = range(1, 9)          # Object2 rows: what they pay into, 0 each
BARRIER_TIMEOUT = 30


# A role with no privilege and no hold of its own (cluster-wide, so it may
# exist already from another suite's database)
OTHER_ROLE = "tg_clients_nobody"


def setUpModule():
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [OTHER_ROLE])
        if cursor.fetchone() is None:
            cursor.execute("CREATE ROLE %s" % OTHER_ROLE)


def reset():
    # orders left open by a test give their price back before the rows go
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(release(hold_id)) FROM transfer_guard_holds"
                       " WHERE state = 'held'")
    Order.objects.all().delete()
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


TOTAL = 100 * len(USERS)     # the wallets' 100 each; the shops start at 0
EXPIRES_SOON = timedelta(milliseconds=50)
EXPIRED_BY = 0.2             # seconds after which EXPIRES_SOON has passed


def wallet(user):
    return Object1.objects.get(pk=user).field1


def till(shop):
    return Object2.objects.get(pk=shop).field2


def status(order):
    return Order.objects.get(pk=order.pk).status


def held():
    """The open holds of the wallets: paid out, not yet the shops'."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds"
                       " WHERE state = 'held' AND from_table = %s::regclass",
                       [Object1._meta.db_table])
        return cursor.fetchone()[0]


def hold_view(order):
    """The order's hold in transfer_guard_holds: (state, amount, captured,
    transfer_id, its lifetime)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, amount, captured, transfer_id,"
                       " expires_at - created_at FROM transfer_guard_holds"
                       " WHERE hold_id = %s", [order.hold_id])
        return cursor.fetchone()


def hold_journal(order):
    """The journal rows of the order's hold: (transfer_id, kind, from_key,
    to_key, amount)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT transfer_id, kind, from_key, to_key, amount"
                       " FROM transfer_guard_journal WHERE hold_id = %s"
                       " ORDER BY transfer_id", [order.hold_id])
        return cursor.fetchall()


class Orders(unittest.TestCase):
    """An order holds its price on the buyer's wallet when it is placed;
    delivered, the price goes to the shop (capture, all of it or less),
    cancelled or expired, it goes back (release).  Users 1-8 have 100 each,
    the shops 0: the balances plus the open holds stay 800 throughout."""

    def setUp(self):
        reset()

    def assertInvariant(self):
        self.assertEqual(sum(snapshot().values()) + held(), TOTAL,
                         "the balances plus the open holds changed")

    def test_order_placed_then_delivered_pays_the_shop(self):
        """Placed: the price leaves the wallet at once and is held for an
        hour.  Delivered: the whole price reaches the shop (from_balance
        None: nothing came back), the hold is captured, and the journal has
        the hold row (from the wallet) and the capture row (to the shop)."""
        order = place_order(Object1(pk=1), Object2(pk=2), 30,
                            expires_in=timedelta(hours=1))
        self.assertEqual((wallet(1), till(2), status(order)), (70, 0, "placed"))
        self.assertEqual(hold_view(order), ("held", 30, None, None, timedelta(hours=1)))
        self.assertInvariant()

        transfer_id, from_balance, to_balance = deliver(order)
        self.assertEqual((from_balance, to_balance), (None, 30))
        self.assertEqual((wallet(1), till(2), status(order)), (70, 30, "delivered"))
        self.assertEqual(hold_view(order),
                         ("captured", 30, 30, transfer_id, timedelta(hours=1)))
        self.assertEqual(hold_journal(order), [(order.hold_id, "hold", "1", None, 30),
                                               (transfer_id, "capture", None, "2", 30)])
        self.assertInvariant()

    def test_delivered_with_a_discount_captures_less_and_the_rest_returns(self):
        """A price of 30 delivered with a discount of 5: the shop gets 25,
        the wallet gets 5 back (a 'release' row for the rest), and the hold
        records what was captured."""
        order = place_order(Object1(pk=1), Object2(pk=2), 30)
        transfer_id, from_balance, to_balance = deliver(order, 25)
        self.assertEqual((from_balance, to_balance), (75, 25))
        self.assertEqual((wallet(1), till(2), status(order)), (75, 25, "delivered"))
        self.assertEqual(hold_view(order), ("captured", 30, 25, transfer_id, None))
        self.assertEqual(hold_journal(order), [(order.hold_id, "hold", "1", None, 30),
                                               (transfer_id, "capture", None, "2", 25),
                                               (ANY, "release", None, "1", 5)])
        self.assertInvariant()

    def test_cancelled_order_gives_the_price_back(self):
        """Cancelled: release() returns the wallet's balance, the price back
        in it; the shop got nothing."""
        order = place_order(Object1(pk=1), Object2(pk=2), 30)
        self.assertEqual(cancel(order), 100)
        self.assertEqual((wallet(1), till(2), status(order)), (100, 0, "cancelled"))
        self.assertEqual(hold_view(order), ("released", 30, None, None, None))
        self.assertEqual(hold_journal(order), [(order.hold_id, "hold", "1", None, 30),
                                               (ANY, "release", None, "1", 30)])
        self.assertInvariant()

    def test_orders_left_alone_expire(self):
        """Two orders expire after 50 ms, a third never.  Past the expiry,
        deliver() raises OrderExpired (TG004); the error undoes everything,
        so the hold is still held and the wallet still short.  try_capture()
        releases it and reports 'expired'; release_expired() releases the
        other one and nothing more; the third stays held."""
        late = place_order(Object1(pk=1), Object2(pk=2), 30, expires_in=EXPIRES_SOON)
        forgotten = place_order(Object1(pk=3), Object2(pk=2), 20,
                                expires_in=EXPIRES_SOON)
        kept = place_order(Object1(pk=4), Object2(pk=2), 10)
        time.sleep(EXPIRED_BY)

        with self.assertRaises(OrderExpired) as cm:
            deliver(late)
        self.assertEqual(sqlstate(cm.exception.__cause__), "TG004")
        self.assertEqual((hold_view(late)[0], wallet(1), status(late)),
                         ("held", 70, "placed"))
        self.assertInvariant()

        self.assertEqual(try_deliver(late), ("expired", None, None, None))
        self.assertEqual((hold_view(late)[0], wallet(1), status(late)),
                         ("expired", 100, "expired"))
        self.assertEqual(hold_journal(late), [(late.hold_id, "hold", "1", None, 30),
                                              (ANY, "expire", None, "1", 30)])

        self.assertEqual(expire_orders(), 1)
        self.assertEqual((hold_view(forgotten)[0], wallet(3), status(forgotten)),
                         ("expired", 100, "expired"))
        self.assertEqual([r[1:] for r in hold_journal(forgotten)],
                         [("hold", "3", None, 20), ("expire", None, "3", 20)])
        self.assertEqual((hold_view(kept)[0], wallet(4), status(kept)),
                         ("held", 90, "placed"))
        self.assertEqual(expire_orders(), 0)
        self.assertEqual(till(2), 0)
        self.assertInvariant()

    def test_refusals_become_the_bots_exceptions_by_sqlstate(self):
        """Each refusal arrives as Django's class wrapping psycopg2's (the
        extension's own TG codes, unknown to psycopg2, as the base
        DatabaseError of both), and deliver()/cancel() turn it into the
        bot's exception by its SQLSTATE.  Nothing moves, the connection
        stays usable, and the orders refused for a wrong amount or the
        wrong role are still open and go through afterwards."""
        delivered = place_order(Object1(pk=1), Object2(pk=1), 10)
        first_capture = deliver(delivered)[0]
        cancelled = place_order(Object1(pk=2), Object2(pk=1), 10)
        cancel(cancelled)
        expired = place_order(Object1(pk=3), Object2(pk=1), 10, expires_in=EXPIRES_SOON)
        discounted = place_order(Object1(pk=4), Object2(pk=1), 10)
        someone_elses = place_order(Object1(pk=5), Object2(pk=1), 10)
        with self.assertRaises(RuntimeError):
            with transaction.atomic():
                lost = place_order(Object1(pk=6), Object2(pk=1), 10)
                raise RuntimeError("the request failed after placing the order")
        time.sleep(EXPIRED_BY)

        def as_other_role(call):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL ROLE %s" % OTHER_ROLE)
                call()

        cases = [
            # what, call -> the bot's exception, Django's class, psycopg2's, SQLSTATE
            ("delivered twice", lambda: deliver(delivered),
             AlreadyDelivered, DatabaseError, psycopg2.DatabaseError, "TG002"),
            ("cancelled after delivery", lambda: cancel(delivered),
             AlreadyDelivered, DatabaseError, psycopg2.DatabaseError, "TG002"),
            ("delivered after cancellation", lambda: deliver(cancelled),
             AlreadyCancelled, DatabaseError, psycopg2.DatabaseError, "TG003"),
            ("delivered after expiry", lambda: deliver(expired),
             OrderExpired, DatabaseError, psycopg2.DatabaseError, "TG004"),
            ("more than the price", lambda: deliver(discounted, 11),
             AboveThePrice, DataError, psycopg2.errors.InvalidParameterValue, "22023"),
            ("by another role", lambda: as_other_role(lambda: deliver(someone_elses)),
             NotYourOrder, ProgrammingError, psycopg2.errors.InsufficientPrivilege,
             "42501"),
            ("an order whose placing rolled back", lambda: deliver(lost),
             NoSuchOrder, InternalError, psycopg2.errors.NoDataFound, "P0002"),
        ]
        for what, call, bot_class, django_class, driver_class, code in cases:
            with self.subTest(what):
                with self.assertRaises(bot_class) as cm:
                    call()
                e = cm.exception.__cause__
                self.assertIsInstance(e, django_class)
                self.assertIsInstance(e.__cause__, driver_class)
                if code.startswith("TG"):
                    self.assertIs(type(e), DatabaseError)
                    self.assertIs(type(e.__cause__), psycopg2.DatabaseError)
                self.assertEqual(sqlstate(e), code)
                if code == "TG002":
                    self.assertIn("captured by transfer %d" % first_capture,
                                  e.__cause__.diag.message_detail)

        self.assertEqual([status(o) for o in (delivered, cancelled, expired,
                                              discounted, someone_elses)],
                         ["delivered", "cancelled", "placed", "placed", "placed"])
        self.assertEqual(till(1), 10)
        self.assertInvariant()
        self.assertEqual(deliver(discounted, 8)[1:], (92, 18))
        self.assertEqual(cancel(someone_elses), 100)
        self.assertEqual(try_deliver(expired)[0], "expired")
        self.assertEqual([wallet(u) for u in range(1, 7)], [90, 100, 100, 92, 100, 100])
        self.assertEqual(held(), 0)
        self.assertInvariant()

    def test_delivery_and_cancellation_of_the_same_order_at_once_one_wins(self):
        """8 orders, each delivered by one thread and cancelled by another
        at the same moment (a barrier): for each, exactly one wins (the
        first to lock the hold), the other gets AlreadyDelivered (TG002) or
        AlreadyCancelled (TG003), and the order's status, the hold's state
        and the balances agree."""
        orders = [place_order(Object1(pk=u), Object2(pk=1), 10) for u in USERS]
        barrier = threading.Barrier(2 * len(orders), timeout=BARRIER_TIMEOUT)

        def act(settle, order):
            barrier.wait()
            return settle(order)

        targets = []
        for order in orders:
            targets += [lambda o=order: act(deliver, o), lambda o=order: act(cancel, o)]
        outcomes = run_threads(targets)
        delivered = 0
        for i, order in enumerate(orders):
            by_deliver, by_cancel = outcomes[2 * i], outcomes[2 * i + 1]
            self.assertEqual(sorted([by_deliver[0], by_cancel[0]]), ["error", "ok"],
                             (by_deliver, by_cancel))
            if by_deliver[0] == "ok":
                delivered += 1
                self.assertIsInstance(by_cancel[1], AlreadyDelivered)
                want = ("captured", "delivered", 90)
            else:
                self.assertIsInstance(by_deliver[1], AlreadyCancelled)
                want = ("released", "cancelled", 100)
            self.assertEqual((hold_view(order)[0], status(order), wallet(order.buyer_id)),
                             want)
        print("\n  delivery against cancellation: %d delivered, %d cancelled"
              % (delivered, len(orders) - delivered), end=" ")
        self.assertEqual(till(1), 10 * delivered)
        self.assertEqual(held(), 0)
        self.assertInvariant()
