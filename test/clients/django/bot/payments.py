"""
Four ways for the bot to take `amount` from one row's balance field and add
it to another's, as a Django app would write them:

- pay_naive: read both rows, check in Python, save (inside atomic());
- pay_checked_then_f: check in Python, then update with F() expressions;
- pay_locked: the common advice, atomic() + select_for_update() in request
  order + F() expressions;
- transfer: one call to the extension's transfer() through
  connection.cursor().

Rows are passed as model instances; only their pk is used, so a stub such
as Object1(pk=1) does (no query to build it).

And the bot's orders, whose price is held on the buyer's wallet from the
moment the order is placed:

- place_order: hold() the price on the buyer's wallet for the shop, and
  record the Order with its hold_id;
- deliver: capture() the hold (all of it, or less: a discount, the rest
  going back to the buyer);
- cancel: release() the hold, the price going back to the buyer;
- try_deliver: try_capture(), which reports an expired order (and gives its
  price back) as a status instead of an error;
- expire_orders: release_expired(), for the orders left alone.

deliver and cancel turn the extension's refusals into the bot's own
exceptions (OrderError) by their SQLSTATE.

The `between` and `after_first_lock` callables let the tests force the
interleaving that concurrent requests produce on their own (two callers
reading before either writes, two callers each holding their first lock);
production code would not have them.
"""

from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction
from django.db.models import F

from bot.models import Order


class InsufficientBalance(Exception):
    pass


def pay_naive(src, src_field, dst, dst_field, amount, between=None):
    with transaction.atomic():
        src = type(src).objects.get(pk=src.pk)
        dst = type(dst).objects.get(pk=dst.pk)
        if getattr(src, src_field) < amount:
            raise InsufficientBalance()
        if between:
            between()
        setattr(src, src_field, getattr(src, src_field) - amount)
        setattr(dst, dst_field, getattr(dst, dst_field) + amount)
        src.save(update_fields=[src_field])
        dst.save(update_fields=[dst_field])


def pay_checked_then_f(src, src_field, dst, dst_field, amount, between=None):
    with transaction.atomic():
        current = type(src).objects.values_list(src_field, flat=True).get(pk=src.pk)
        if current < amount:
            raise InsufficientBalance()
        if between:
            between()
        type(src).objects.filter(pk=src.pk).update(**{src_field: F(src_field) - amount})
        type(dst).objects.filter(pk=dst.pk).update(**{dst_field: F(dst_field) + amount})


def pay_locked(src, src_field, dst, dst_field, amount, after_first_lock=None):
    with transaction.atomic():
        locked = type(src).objects.select_for_update().get(pk=src.pk)
        if after_first_lock:
            after_first_lock()
        type(dst).objects.select_for_update().get(pk=dst.pk)
        if getattr(locked, src_field) < amount:
            raise InsufficientBalance()
        type(src).objects.filter(pk=src.pk).update(**{src_field: F(src_field) - amount})
        type(dst).objects.filter(pk=dst.pk).update(**{dst_field: F(dst_field) + amount})


def transfer(src, src_field, dst, dst_field, amount):
    """Move amount from src.<src_field> to dst.<dst_field> in one call;
    returns (transfer_id, from_balance, to_balance)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM transfer(%s, %s, %s, %s, balance_column => %s,"
            " to_table => %s, to_column => %s)",
            [src._meta.db_table, src.pk, dst.pk, amount,
             src._meta.get_field(src_field).column,
             dst._meta.db_table, dst._meta.get_field(dst_field).column])
        return cursor.fetchone()


class OrderError(Exception):
    """An order the bot cannot deliver or cancel; the database error, a
    Django DatabaseError wrapping the driver's, is its __cause__."""


class NoSuchOrder(OrderError):
    """P0002: the order's hold does not exist (its transaction rolled back)."""


class AlreadyDelivered(OrderError):
    """TG002: the hold was captured already."""


class AlreadyCancelled(OrderError):
    """TG003: the hold was released already."""


class OrderExpired(OrderError):
    """TG004: the hold is past its expiry, or was released by it."""


class AboveThePrice(OrderError):
    """22023: more than the hold holds (or a bad amount)."""


class NotYourOrder(OrderError):
    """42501: the caller neither placed the hold nor owns its tables."""


ORDER_ERRORS = {
    "P0002": NoSuchOrder,
    "TG002": AlreadyDelivered,
    "TG003": AlreadyCancelled,
    "TG004": OrderExpired,
    "22023": AboveThePrice,
    "42501": NotYourOrder,
}


@contextmanager
def order_errors():
    """Raise the bot's exception for the SQLSTATEs it expects; anything else
    goes through as Django raised it."""
    try:
        yield
    except DatabaseError as e:
        error = ORDER_ERRORS.get(getattr(e.__cause__, "pgcode", None))
        if error is None:
            raise
        raise error(str(e.__cause__).strip()) from e


def _fetchone(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def place_order(buyer, shop, price, expires_in=None):
    """Hold price on buyer.field1 for shop.field2 (expires_in: a timedelta,
    or None for an order that never expires) and record the Order, in one
    transaction.  A wallet short of the price raises IntegrityError
    (CheckViolation, 23514), as transfer() does."""
    with transaction.atomic():
        hold_id, _ = _fetchone(
            "SELECT * FROM hold(%s, %s, %s, %s, balance_column => %s,"
            " to_table => %s, to_column => %s, expires_in => %s)",
            [type(buyer)._meta.db_table, buyer.pk, shop.pk, price,
             type(buyer)._meta.get_field("field1").column,
             type(shop)._meta.db_table, type(shop)._meta.get_field("field2").column,
             expires_in])
        return Order.objects.create(buyer_id=buyer.pk, shop_id=shop.pk, price=price,
                                    hold_id=hold_id)


def _set_status(order, status):
    Order.objects.filter(pk=order.pk).update(status=status)
    order.status = status


def deliver(order, amount=None):
    """Capture the order's hold: amount (None: the whole price) to the
    shop, the rest back to the buyer; returns (transfer_id, from_balance,
    to_balance), from_balance None when nothing came back."""
    with order_errors(), transaction.atomic():
        row = _fetchone("SELECT * FROM capture(%s, %s)", [order.hold_id, amount])
        _set_status(order, "delivered")
        return row


def cancel(order):
    """Release the order's hold; returns the buyer's balance."""
    with order_errors(), transaction.atomic():
        (balance,) = _fetchone("SELECT release(%s)", [order.hold_id])
        _set_status(order, "cancelled")
        return balance


def try_deliver(order, amount=None):
    """try_capture() the order's hold: returns (status, transfer_id,
    from_balance, to_balance) and raises for none of the statuses; an
    order past its expiry is released ('expired') and marked so."""
    with transaction.atomic():
        row = _fetchone("SELECT * FROM try_capture(%s, %s)", [order.hold_id, amount])
        status = {"ok": "delivered", "expired": "expired"}.get(row[0])
        if status:
            _set_status(order, status)
        return row


def expire_orders():
    """Release every hold past its expiry (release_expired()) and mark the
    orders whose hold expired; returns how many holds were released."""
    with transaction.atomic():
        (released,) = _fetchone("SELECT release_expired()", [])
        placed = list(Order.objects.filter(status="placed")
                      .values_list("hold_id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT hold_id FROM transfer_guard_holds"
                           " WHERE state = 'expired' AND hold_id = ANY(%s)", [placed])
            expired = [r[0] for r in cursor.fetchall()]
        Order.objects.filter(hold_id__in=expired).update(status="expired")
        return released
