from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0003_enrolment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InvoiceProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_user_id', fields.BigIntField(unique=True)),
                ('title', fields.CharField(max_length=100)),
                ('taxpayer_id', fields.CharField(null=True, max_length=20)),
                ('email', fields.CharField(null=True, max_length=100)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'invoice_profile', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Invoice details a payer confirmed once (R-PAY-1), reused and editable.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, max_length=32)),
                ('payer_chat_user_id', fields.BigIntField(db_index=True)),
                ('channel', fields.CharField(max_length=16)),
                ('enterprise', fields.ForeignKeyField('jijiao.Enterprise', source_field='enterprise_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.SET_NULL)),
                ('amount_fen', fields.IntField()),
                ('status', fields.CharField(db_index=True, max_length=10)),
                ('provider', fields.CharField(max_length=16)),
                ('pay_url', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('warned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('transaction_id', fields.CharField(null=True, max_length=64)),
                ('invoice_title', fields.CharField(max_length=100)),
                ('invoice_taxpayer_id', fields.CharField(null=True, max_length=20)),
                ('invoice_email', fields.CharField(null=True, max_length=100)),
                ('invoice_due_on', fields.DateField(null=True, db_index=True)),
                ('invoice_file_id', fields.CharField(null=True, max_length=255)),
                ('invoice_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_order', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('jijiao.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('enrolment', fields.ForeignKeyField('jijiao.Enrolment', source_field='enrolment_id', db_constraint=True, to_field='id', related_name='order_items', on_delete=OnDelete.CASCADE)),
                ('amount_fen', fields.IntField()),
            ],
            options={'table': 'order_item', 'app': 'jijiao', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentLog',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_number', fields.CharField(db_index=True, max_length=32)),
                ('provider', fields.CharField(max_length=16)),
                ('source', fields.CharField(max_length=16)),
                ('outcome', fields.CharField(max_length=16)),
                ('transaction_id', fields.CharField(null=True, max_length=64)),
                ('amount_fen', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payment_log', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': 'Every word a provider said about an order, and what it did: the audit trail.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SandboxPayment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_number', fields.CharField(unique=True, max_length=32)),
                ('amount_fen', fields.IntField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('state', fields.CharField(max_length=10)),
                ('transaction_id', fields.CharField(null=True, max_length=64)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sandbox_payment', 'app': 'jijiao', 'pk_attr': 'id', 'table_description': "The sandbox provider's own ledger: what it would know as a real payment service."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Enrolment',
            name='paid_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Enrolment',
            name='study_deadline',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
