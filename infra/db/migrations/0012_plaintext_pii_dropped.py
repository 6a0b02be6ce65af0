from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps


async def refuse_to_drop_unsealed(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Written by hand: the plaintext columns go only once everything in them is sealed, which
    needs SECURITY_SECRET_KEY (infra.db.plaintext does it when the app or `jijiao migrate`
    applies the migrations)."""
    client = schema_editor.client
    _, people = await client.execute_query(
        "SELECT COUNT(*) AS n FROM person WHERE id_number_hash IS NULL"
    )
    _, enterprises = await client.execute_query(
        "SELECT COUNT(*) AS n FROM enterprise WHERE contact_phone_sealed IS NULL"
    )
    left = people[0]["n"] + enterprises[0]["n"]
    if left:
        raise RuntimeError(
            f"{left} registry rows still hold ID numbers or phones in plaintext only; dropping "
            "them would lose them. Migrate with `jijiao migrate` (or start the app), which seals "
            "them with SECURITY_SECRET_KEY first."
        )


class Migration(migrations.Migration):
    dependencies = [('jijiao', '0011_pii_at_rest')]

    initial = False

    operations = [
        ops.RunPython(refuse_to_drop_unsealed),
        ops.AlterField(
            model_name='Enterprise',
            name='contact_phone_sealed',
            field=fields.CharField(default='', max_length=128),
        ),
        ops.RemoveField(model_name='Enterprise', name='contact_phone'),
        ops.AlterField(
            model_name='Person',
            name='id_number_hash',
            field=fields.CharField(unique=True, max_length=64),
        ),
        ops.AlterField(
            model_name='Person',
            name='id_number_sealed',
            field=fields.CharField(max_length=128),
        ),
        ops.AlterField(
            model_name='Person',
            name='phone_hash',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AlterField(
            model_name='Person',
            name='phone_sealed',
            field=fields.CharField(default='', max_length=128),
        ),
        ops.RemoveField(model_name='Person', name='id_number'),
        ops.RemoveField(model_name='Person', name='phone'),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['phone_hash']),
        ),
    ]
