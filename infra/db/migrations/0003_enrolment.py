from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0002_registry')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Binding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(unique=True)),
                ('person', fields.OneToOneField('jijiao.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='binding', on_delete=OnDelete.CASCADE)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'binding', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'A chat account proven to belong to a registry person (own contact, matching phone).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Enrolment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('certificate', fields.ForeignKeyField('jijiao.Certificate', source_field='certificate_id', db_constraint=True, to_field='id', related_name='enrolments', on_delete=OnDelete.CASCADE)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('channel', fields.CharField(max_length=16)),
                ('enterprise', fields.ForeignKeyField('jijiao.Enterprise', source_field='enterprise_id', null=True, db_constraint=True, to_field='id', related_name='enrolments', on_delete=OnDelete.SET_NULL)),
                ('enrolled_by', fields.BigIntField()),
                ('state', fields.CharField(db_index=True, max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'enrolment', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EnterpriseContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(unique=True)),
                ('enterprise', fields.ForeignKeyField('jijiao.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'enterprise_contact', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': "A chat account proven to be an enterprise's registered contact."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupportRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(db_index=True)),
                ('kind', fields.CharField(max_length=40)),
                ('track', fields.CharField(null=True, max_length=4)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='open', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'support_request', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'A case for staff, carrying what failed so nobody has to ask again.'},
            bases=['Model'],
        ),
    ]
