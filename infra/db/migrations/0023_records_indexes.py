from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    # An enterprise contact's employee table and export read an enterprise's enrolments in id
    # order, 500 at a time (infra/repositories/records.py): without this index every batch
    # walks the whole table.
    dependencies = [("jijiao", "0022_site_role")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Enrolment",
            index=Index(fields=["enterprise_id", "id"]),
        ),
    ]
