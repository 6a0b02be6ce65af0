from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ChatUser',
            fields=[
                ('id', fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ('first_name', fields.CharField(default='', max_length=128)),
                ('language_code', fields.CharField(null=True, max_length=16)),
                ('locale', fields.CharField(null=True, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'chat_user', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'A Telegram account that has talked to the bot.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FsmRecord',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('state', fields.CharField(null=True, max_length=255)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'fsm_record', 'app': 'jijiao', 'pk_attr': 'key', 'table_description': 'aiogram FSM state and data, one row per storage key, when Redis is not configured.'},
            bases=['Model'],
        ),
    ]
