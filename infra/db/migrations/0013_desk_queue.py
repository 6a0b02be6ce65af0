from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0012_plaintext_pii_dropped')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeskQueue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('message_id', fields.BigIntField()),
                ('text_sealed', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'desk_queue', 'app': 'jijiao', 'unique_together': (('chat_user_id', 'message_id'),), 'pk_attr': 'id', 'table_description': "A trainee's message on its way to their topic: kept until it is there, then deleted, so"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SupportTicket',
            name='relay_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
