from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0018_receipt_printed_tag')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UpdateInbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bot_id', fields.BigIntField()),
                ('update_id', fields.BigIntField()),
                ('payload_sealed', fields.TextField(unique=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=1)),
                ('claimed_by', fields.CharField(max_length=64)),
                ('claimed_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'update_inbox', 'app': 'jijiao', 'unique_together': (('bot_id', 'update_id'),), 'indexes': [Index(fields=['done_at', 'claimed_until'])], 'pk_attr': 'id', 'table_description': 'A Telegram update, stored before Telegram hears that it arrived (bot/inbox.py): the'},
            bases=['Model'],
        ),
    ]
