"""The two models of the chat bot scenario: N units are taken from
Object1.field1 of one row and added to Object2.field2 of another.  An
Order is a purchase from a shop (an Object2 row) by a user (an Object1
row) whose price is held on the user's wallet until it is delivered,
cancelled, or expires (hold_id: the extension's hold)."""

from django.db import models


class Object1(models.Model):
    field1 = models.IntegerField(default=0)


class Object2(models.Model):
    field2 = models.IntegerField(default=0)


class Order(models.Model):
    buyer = models.ForeignKey(Object1, on_delete=models.PROTECT)
    shop = models.ForeignKey(Object2, on_delete=models.PROTECT)
    price = models.IntegerField()
    hold_id = models.BigIntegerField(unique=True)
    # placed, delivered, cancelled or expired
    status = models.CharField(max_length=10, default="placed")
