from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0021_renewal_applied")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Certificate",
            name="role",
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
