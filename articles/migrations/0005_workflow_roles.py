"""Give the roles their workflow permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Editors": ["submit_article", "view_revision", "view_transition"],
    "Moderators": [
        "submit_article", "approve_article", "unpublish_article", "edit_in_review",
        "view_revision", "view_transition",
    ],
}


def grant(apps, schema_editor):
    config = apps.get_app_config("articles")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="articles", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*Permission.objects.filter(content_type__app_label="articles", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_workflow")]
    operations = [migrations.RunPython(grant, revoke)]
