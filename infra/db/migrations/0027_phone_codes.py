from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0026_wechat_accounts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PhoneCode",
            fields=[
                ("phone_key", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("account_id", fields.BigIntField(null=True)),
                ("code_digest", fields.CharField(null=True, max_length=64)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("wrong_tries", fields.IntField(default=0)),
                ("day", fields.DateField(null=True)),
                ("sends", fields.IntField(default=0)),
            ],
            options={"table": "phone_code", "app": "jijiao", "pk_attr": "phone_key", "table_description": "The SMS code live for a phone, and how many were sent to it today (domain.phone_codes):"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SmsQuota",
            fields=[
                ("account_id", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ("day", fields.DateField(null=True)),
                ("sends", fields.IntField(default=0)),
            ],
            options={"table": "sms_quota", "app": "jijiao", "pk_attr": "account_id", "table_description": "SMS codes an account asked for today (domain.phone_codes: at most 10 a day)."},
            bases=["Model"],
        ),
    ]
