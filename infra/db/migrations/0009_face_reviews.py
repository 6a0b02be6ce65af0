from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0008_exams')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FaceReview',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', null=True, db_constraint=True, to_field='id', related_name='face_reviews', on_delete=OnDelete.CASCADE)),
                ('check_ids', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='pending', db_index=True, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_by', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'face_review', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Three failed checks in a row: staff look at the evidence and clear or reject.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='FaceCheck',
            name='fingerprint',
            field=fields.CharField(null=True, max_length=130),
        ),
    ]
