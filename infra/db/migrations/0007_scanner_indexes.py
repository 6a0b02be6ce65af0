from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('jijiao', '0006_study')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Enrolment',
            index=Index(fields=['study_deadline']),
        ),
        ops.AddIndex(
            model_name='Enrolment',
            index=Index(fields=['certificate_id']),
        ),
        ops.AddIndex(
            model_name='EnterpriseContact',
            index=Index(fields=['enterprise_id']),
        ),
        ops.AddIndex(
            model_name='Outbox',
            index=Index(fields=['broadcast_id']),
        ),
    ]
