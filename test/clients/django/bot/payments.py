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

The `between` and `after_first_lock` callables let the tests force the
interleaving that concurrent requests produce on their own (two callers
reading before either writes, two callers each holding their first lock);
production code would not have them.
"""

from django.db import connection, transaction
from django.db.models import F


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
