"""A person may be bound once per channel (Telegram and WeChat): `binding.person_id` is no longer
unique by itself, (person_id, channel) is. Bindings already made by WeChat accounts (negative
ids) are marked as WeChat's."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint


class Migration(migrations.Migration):
    dependencies = [("jijiao", "0027_phone_codes")]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name="Binding",
            options={
                "table": "binding",
                "app": "jijiao",
                "unique_together": (("person", "channel"),),
                "pk_attr": "id",
                "table_description": "A chat account proven to belong to a registry person (own contact or SMS code, matching",
            },
        ),
        ops.AlterField(
            model_name="Binding",
            name="person",
            field=fields.ForeignKeyField(
                "jijiao.Person",
                source_field="person_id",
                db_constraint=True,
                to_field="id",
                related_name="binding",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Binding",
            name="channel",
            field=fields.CharField(default="telegram", db_default="telegram", max_length=16),
        ),
        ops.RunSQL(
            "UPDATE binding SET channel = 'wechat' WHERE chat_user_id < 0",
            reverse_sql="SELECT 1",
        ),
        ops.AddConstraint(
            model_name="Binding",
            constraint=UniqueConstraint(fields=("person", "channel"), name=None),
        ),
    ]
