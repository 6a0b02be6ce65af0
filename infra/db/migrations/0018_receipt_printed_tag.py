from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0016_enrolment_ended_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Receipt',
            name='printed_tag',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
