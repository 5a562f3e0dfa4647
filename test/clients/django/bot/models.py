"""The two models of the chat bot scenario: N units are taken from
Object1.field1 of one row and added to Object2.field2 of another."""

from django.db import models


class Object1(models.Model):
    field1 = models.IntegerField(default=0)


class Object2(models.Model):
    field2 = models.IntegerField(default=0)
