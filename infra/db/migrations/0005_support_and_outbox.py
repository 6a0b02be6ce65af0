from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0004_payment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Application',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=10)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', db_constraint=True, to_field='id', related_name='applications', on_delete=OnDelete.CASCADE)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('status', fields.CharField(default='pending', db_index=True, max_length=10)),
                ('form_file_id', fields.CharField(null=True, max_length=255)),
                ('staff_message_id', fields.BigIntField(null=True)),
                ('decided_by', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'application', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'An extension or make-up application (R-EXT-1..3) and the one decision that counts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor_id', fields.BigIntField(db_index=True)),
                ('action', fields.CharField(max_length=40)),
                ('subject', fields.CharField(max_length=64)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Who did what to whom, when and why: staff decisions, photo views, rebinding.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Broadcast',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_by', fields.BigIntField()),
                ('audience', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('text', fields.TextField(unique=False)),
                ('photo_file_id', fields.CharField(null=True, max_length=255)),
                ('status', fields.CharField(default='draft', max_length=10)),
                ('progress_chat_id', fields.BigIntField(null=True)),
                ('progress_message_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'broadcast', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': "A staff message to an audience, sent through the outbox at Telegram's pace."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Outbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_id', fields.BigIntField(db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('dedup_key', fields.CharField(unique=True, max_length=160)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('essential', fields.BooleanField(default=True)),
                ('status', fields.CharField(default='pending', max_length=12)),
                ('attempts', fields.IntField(default=0)),
                ('not_before', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('telegram_message_id', fields.BigIntField(null=True)),
                ('error', fields.TextField(null=True, unique=False)),
                ('broadcast', fields.ForeignKeyField('jijiao.Broadcast', source_field='broadcast_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox', 'app': 'jijiao', 'indexes': [Index(fields=['status', 'not_before'])], 'pk_attr': 'id', 'table_description': 'A message to send, durable before it is sent: reminders and broadcasts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupportTicket',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(unique=True)),
                ('thread_id', fields.BigIntField(null=True, db_index=True)),
                ('topic_name', fields.CharField(default='', max_length=128)),
                ('status', fields.CharField(default='open', max_length=8)),
                ('banned', fields.BooleanField(default=False)),
                ('card_message_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_ticket', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'One forum topic per trainee in the staff group.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RelayedMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('jijiao.SupportTicket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('direction', fields.CharField(max_length=4)),
                ('private_message_id', fields.BigIntField(db_index=True)),
                ('group_message_id', fields.BigIntField(db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'relayed_message', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': "A message copied between a trainee's private chat and their topic, both ids kept so"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ChatUser',
            name='muted',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='ChatUser',
            name='unreachable',
            field=fields.BooleanField(default=False),
        ),
    ]
