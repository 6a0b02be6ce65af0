from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0019_update_inbox")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Receipt",
            name="renewal_applied_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SupportTicket',
            name='group_id',
            field=fields.BigIntField(null=True),
        ),
    ]
