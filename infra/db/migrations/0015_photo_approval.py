from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0014_exam_identity')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FaceProfile',
            name='photo_status',
            field=fields.CharField(default='approved', max_length=8),
        ),
    ]
