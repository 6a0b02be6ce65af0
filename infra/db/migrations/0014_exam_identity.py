from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0013_desk_queue')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ExamAttempt',
            name='identity',
            field=fields.CharField(default='confirmed', max_length=10),
        ),
        ops.AddField(
            model_name='ExamAttempt',
            name='opening_check_id',
            field=fields.IntField(null=True),
        ),
        ops.AlterModelOptions(
            name='FaceReview',
            options={'table': 'face_review', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Staff look at the evidence and clear or reject: three failed checks in a row, a check'},
        ),
        ops.AddField(
            model_name='FaceReview',
            name='attempt_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='FaceReview',
            name='kind',
            field=fields.CharField(default='checks', max_length=8),
        ),
    ]
