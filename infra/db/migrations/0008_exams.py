from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0007_scanner_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ExamAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', db_constraint=True, to_field='id', related_name='exam_attempts', on_delete=OnDelete.CASCADE)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('number', fields.IntField()),
                ('status', fields.CharField(default='open', max_length=10)),
                ('bank_version', fields.IntField()),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deadline', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('draw', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('score', fields.IntField(null=True)),
                ('warned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'exam_attempt', 'app': 'jijiao', 'unique_together': (('enrolment', 'number'),), 'indexes': [Index(fields=['status', 'deadline'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExamEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attempt', fields.ForeignKeyField('jijiao.ExamAttempt', source_field='attempt_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('kind', fields.CharField(max_length=16)),
                ('detail', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'exam_event', 'app': 'jijiao', 'indexes': [Index(fields=['attempt_id'])], 'pk_attr': 'id', 'table_description': 'Timeline of an attempt for staff: started, saved, face checks, submitted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Receipt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enrolment', fields.OneToOneField('jijiao.Enrolment', source_field='enrolment_id', db_constraint=True, to_field='id', related_name='receipt', on_delete=OnDelete.CASCADE)),
                ('number', fields.CharField(unique=True, max_length=32)),
                ('score', fields.IntField()),
                ('hours', fields.FloatField()),
                ('passed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.BigIntField(null=True)),
                ('revoked_reason', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'receipt', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'One completion receipt per passed enrolment, with a signed token of it in its QR code.'},
            bases=['Model'],
        ),
    ]
