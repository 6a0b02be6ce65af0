from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0025_staff_sign_in')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='ChatUser',
            options={'table': 'chat_user', 'app': 'jijiao', 'unique_together': (('channel', 'external_id'),), 'pk_attr': 'id', 'table_description': 'A chat account that has talked to the product: a Telegram user, or a WeChat user of the'},
        ),
        ops.AddField(
            model_name='ChatUser',
            name='channel',
            field=fields.CharField(default='telegram', db_default='telegram', max_length=16),
        ),
        ops.AddField(
            model_name='ChatUser',
            name='external_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='ChatUser',
            name='last_inbound_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddConstraint(
            model_name='ChatUser',
            constraint=UniqueConstraint(fields=('channel', 'external_id'), name=None),
        ),
    ]
