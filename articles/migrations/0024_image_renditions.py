"""Hero image renditions get their own record, made by a task (articles.images), and the
Moderators see the task results in the admin.

The renditions already made for published versions are recorded from their publications,
so that approving a new version of a story with the same image needs no new task.
"""

import django.utils.timezone
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def record_made_renditions(apps, schema_editor):
    Publication = apps.get_model("articles", "Publication")
    ImageRenditions = apps.get_model("articles", "ImageRenditions")
    made = {}
    rows = Publication.objects.exclude(renditions=[]).order_by("created_at").values_list("revision__data", "renditions")
    for data, renditions in rows.iterator():
        image = (data or {}).get("image") or {}
        if image.get("name") and renditions:
            made[image["name"]] = renditions  # the latest publication's list wins
    ImageRenditions.objects.bulk_create(
        [ImageRenditions(image=name, renditions=renditions) for name, renditions in made.items()],
        ignore_conflicts=True,
    )


def let_moderators_see_task_results(apps, schema_editor):
    config = apps.get_app_config("django_tasks_database")
    config.models_module = True  # let create_permissions run inside a migration
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="django_tasks_database", codename="view_dbtaskresult")
    for group in Group.objects.filter(name="Moderators"):
        group.permissions.add(*view)


def hide_task_results(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="django_tasks_database", codename="view_dbtaskresult")
    for group in Group.objects.filter(name="Moderators"):
        group.permissions.remove(*view)


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0023_publication_slug_index'),
        ('django_tasks_database', '0021_conditional_partial_index_ordering'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImageRenditions',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('image', models.CharField(max_length=255, unique=True)),
                ('renditions', models.JSONField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('made_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name_plural': 'image renditions',
            },
        ),
        migrations.RunPython(record_made_renditions, migrations.RunPython.noop),
        migrations.RunPython(let_moderators_see_task_results, hide_task_results),
    ]
