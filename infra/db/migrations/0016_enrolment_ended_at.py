from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0015_photo_approval')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Enrolment',
            name='ended_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Written by hand: enrolments that already ended take the best time known for it.
        ops.RunSQL(
            "UPDATE enrolment SET ended_at = updated_at "
            "WHERE state IN ('passed', 'cancelled') AND ended_at IS NULL"
        ),
    ]
