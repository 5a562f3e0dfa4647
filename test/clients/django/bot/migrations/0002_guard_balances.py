"""Install transfer_guard and guard the two balance columns (floor 0)."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("bot", "0001_initial")]
    operations = [
        CreateExtension("transfer_guard"),
        migrations.RunSQL(
            sql=["SELECT guard('bot_object1', 'field1')",
                 "SELECT guard('bot_object2', 'field2')"],
            reverse_sql=["SELECT unguard('bot_object2', 'field2')",
                         "SELECT unguard('bot_object1', 'field1')"],
        ),
    ]
