from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0028_binding_per_channel")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SupportMessage",
            fields=[
                ("id", fields.IntField(primary_key=True, unique=True, db_index=True)),
                ("chat_user_id", fields.BigIntField(db_index=True)),
                ("direction", fields.CharField(max_length=4)),
                ("text_sealed", fields.TextField(unique=False)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("staff_id", fields.BigIntField(null=True)),
                ("staff_name", fields.CharField(null=True, max_length=128)),
                ("delivered", fields.BooleanField(default=True)),
                ("unanswered", fields.BooleanField(default=False)),
            ],
            options={"table": "support_message", "app": "jijiao", "pk_attr": "id", "table_description": "The desk's own record of a support conversation, whichever channel it came from: what the"},
            bases=["Model"],
        ),
    ]
