from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0005_support_and_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FaceCheck',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', null=True, db_constraint=True, to_field='id', related_name='face_checks', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=10)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answer_by', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('result', fields.CharField(default='pending', max_length=8)),
                ('score', fields.FloatField(null=True)),
                ('reason', fields.CharField(null=True, max_length=32)),
                ('next_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'face_check', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FaceProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(unique=True)),
                ('consent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('photo_path', fields.CharField(null=True, max_length=255)),
                ('embedding_path', fields.CharField(null=True, max_length=255)),
                ('photo_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'face_profile', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Consent and the enrolment photo of one trainee (files under APP_DATA_DIR/faces).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LessonProgress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', db_constraint=True, to_field='id', related_name='lesson_progress', on_delete=OnDelete.CASCADE)),
                ('lesson', fields.CharField(max_length=64)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('seconds_credited', fields.IntField(default=0)),
                ('last_beat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'lesson_progress', 'app': 'jijiao', 'unique_together': (('enrolment', 'lesson'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
