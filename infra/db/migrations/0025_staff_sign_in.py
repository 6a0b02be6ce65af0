from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0023_records_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="StaffSignIn",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("nonce", fields.CharField(max_length=32, unique=True)),
                ("staff_id", fields.BigIntField()),
                ("used_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "staff_sign_in", "app": "jijiao", "pk_attr": "id", "table_description": "A staff console sign-in link, used: each link signs in once (a link forwarded or left"},
            bases=["Model"],
        ),
    ]
