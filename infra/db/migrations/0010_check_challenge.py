from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0009_face_reviews')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FaceCheck',
            name='challenge',
            field=fields.CharField(null=True, max_length=8),
        ),
    ]
