"""Create the newsroom's roles as groups: Editors and Moderators."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PARTS = ["keyfact", "section", "point", "take", "takepoint"]

ROLES = {
    "Editors": {
        "article": ["add", "change", "view"],
        **{part: ["add", "change", "delete", "view"] for part in PARTS},
        "source": ["add", "change", "view"],
        "desk": ["view"],
    },
    "Moderators": {
        "article": ["add", "change", "delete", "view"],
        **{part: ["add", "change", "delete", "view"] for part in PARTS},
        "source": ["add", "change", "delete", "view"],
        "desk": ["add", "change", "delete", "view"],
    },
}


def create_roles(apps, schema_editor):
    config = apps.get_app_config("articles")
    config.models_module = True  # let create_permissions run inside a migration
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [f"{action}_{model}" for model, actions in grants.items() for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
