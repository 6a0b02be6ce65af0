from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    # Neither PostgreSQL nor SQLite indexes a foreign key by itself, and these are joined or
    # looked up on hot paths: an order's items (every bill and every payment notification read
    # and paid an order by walking all order items ever), a person's and an enterprise's
    # certificates (/status, the registry), an enrolment's face checks, reviews and applications,
    # a ticket's relayed messages. Without them each such read scans the whole table.
    dependencies = [("jijiao", "0029_support_messages")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Certificate", index=Index(fields=["person_id"])),
        ops.AddIndex(model_name="Certificate", index=Index(fields=["enterprise_id"])),
        ops.AddIndex(model_name="Order", index=Index(fields=["enterprise_id"])),
        ops.AddIndex(model_name="OrderItem", index=Index(fields=["order_id"])),
        ops.AddIndex(model_name="OrderItem", index=Index(fields=["enrolment_id"])),
        ops.AddIndex(model_name="RelayedMessage", index=Index(fields=["ticket_id"])),
        ops.AddIndex(model_name="Application", index=Index(fields=["enrolment_id"])),
        ops.AddIndex(model_name="FaceCheck", index=Index(fields=["enrolment_id"])),
        ops.AddIndex(model_name="FaceReview", index=Index(fields=["enrolment_id"])),
    ]
