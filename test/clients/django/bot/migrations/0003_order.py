"""The bot's orders, each with the hold of its price on the buyer's wallet."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bot", "0002_guard_balances")]
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True,
                                        serialize=False, verbose_name="ID")),
                ("price", models.IntegerField()),
                ("hold_id", models.BigIntegerField(unique=True)),
                ("status", models.CharField(default="placed", max_length=10)),
                ("buyer", models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, to="bot.object1")),
                ("shop", models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, to="bot.object2")),
            ],
        ),
    ]
