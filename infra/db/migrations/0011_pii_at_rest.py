from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0010_check_challenge')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Enterprise',
            name='contact_phone_sealed',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Person',
            name='id_number_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Person',
            name='id_number_sealed',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Person',
            name='phone_hash',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Person',
            name='phone_sealed',
            field=fields.CharField(null=True, max_length=128),
        ),
    ]
