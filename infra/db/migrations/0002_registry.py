from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Enterprise',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('credit_code', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(max_length=128)),
                ('contact_phone', fields.CharField(default='', max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'enterprise', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('file_name', fields.CharField(max_length=255)),
                ('source', fields.CharField(max_length=16)),
                ('new', fields.IntField(default=0)),
                ('updated', fields.IntField(default=0)),
                ('unchanged', fields.IntField(default=0)),
                ('rejected', fields.IntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'import_run', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': "One roster import, for the audit trail and the staff's report."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('id_number', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(max_length=64)),
                ('phone', fields.CharField(default='', max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'A registry person (imported from the provincial roster).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Certificate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, max_length=64)),
                ('cert_type', fields.CharField(max_length=16)),
                ('category', fields.CharField(null=True, max_length=16)),
                ('person', fields.ForeignKeyField('jijiao.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.CASCADE)),
                ('enterprise', fields.ForeignKeyField('jijiao.Enterprise', source_field='enterprise_id', null=True, db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.SET_NULL)),
                ('issued_on', fields.DateField(null=True)),
                ('expires_on', fields.DateField(db_index=True)),
                ('status', fields.CharField(default='valid', max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certificate', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
