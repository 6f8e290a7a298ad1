"""Load the demo newsroom: our own demo stories, desks, and demo accounts (development only).

Run on a database that already has the demo (every `make run` does), it adds only what is
missing and leaves everything else as people left it: a demo story that exists (found by its
original URL) is not re-imported, re-dressed or re-published, an existing desk keeps its
name, and an existing account keeps its password, staff flag and groups. A second run with
nothing missing writes nothing. One transaction: a run that cannot finish changes nothing.
"""

import io
import tomllib
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from PIL import Image, ImageDraw

from articles import images, workflow
from articles.importing import ImportRefused, story_save
from articles.models import Article, Desk
from articles.storyformat import StoryFormatError, parse

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"

# Development-only accounts; load_demo refuses to run with DEBUG off unless forced.
DEMO_ACCOUNTS = [
    # username, password, group (None: superuser)
    ("editor", "editor-demo-2026", "Editors"),
    ("moderator", "moderator-demo-2026", "Moderators"),
    ("admin", "admin-demo-2026", None),
]


class DemoRefused(Exception):
    """A missing demo story that cannot be added back; the message says which and why."""


class Command(BaseCommand):
    help = (
        "Load the demo stories, desks and accounts (editor, moderator, admin), adding only what is missing. "
        "Development only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on a public site).")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("load_demo creates accounts with known passwords; it runs only with DEBUG=1.")
        manifest = tomllib.loads((DEMO_DIR / "stories.toml").read_text(encoding="utf-8"))
        stories = [(entry, _parse(entry["file"])) for entry in manifest["stories"]]
        report, self.images_written = [], []
        try:
            # The demo's own workflow steps send no email, not even later through a worker (its
            # tasks run here, at once); the ones people take in the admin do.
            with (
                override_settings(
                    MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}},
                    TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}},
                ),
                transaction.atomic(),
            ):
                accounts = self._load_accounts()
                desks = self._load_desks(manifest["desks"], report)
                self._load_stories(stories, desks, report)
        except Exception as error:
            for name in self.images_written:  # the transaction took back the rows; these are files
                default_storage.delete(name)
            if isinstance(error, DemoRefused):
                raise CommandError(f"{error} Nothing was changed.") from error
            raise
        self.stdout.write("\n".join(report))
        added = sum(line.startswith("added") for line in report) + sum(" added," in line for line in accounts)
        self.stdout.write(
            f"load_demo: added {added} missing item{'' if added == 1 else 's'}; what was there is left as it was."
            if added
            else "load_demo: nothing was missing; nothing was changed."
        )
        self.stdout.write(self.style.SUCCESS("Demo accounts (development only):"))
        for line in accounts:
            self.stdout.write(f"  {line}")

    def _load_accounts(self):
        """Each demo account created if missing; an existing one is left entirely alone."""
        User = get_user_model()
        existing = {user.username: user for user in User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])}
        lines = []
        for username, password, group_name in DEMO_ACCOUNTS:
            role = group_name or "superuser"
            user = existing.get(username)
            if user is None:
                user = User.objects.create_user(
                    username, email=f"{username}@example.com", password=password, is_staff=True
                )
                if group_name:
                    group = Group.objects.filter(name=group_name).first()
                    if group is None:
                        raise DemoRefused(
                            f"The demo account {username} is missing and cannot be added back: the group "
                            f"{group_name} does not exist (the migrations create it; someone deleted it)."
                        )
                    user.groups.add(group)
                else:
                    user.is_superuser = True
                    user.save(update_fields=["is_superuser"])
                lines.append(f"{username:<10} added, password: {password:<22} ({role})")
            elif check_password(password, user.password):  # read only: never upgrades the stored hash
                lines.append(f"{username:<10} kept,  password: {password:<22} ({role})")
            else:
                lines.append(f"{username:<10} kept as it is (password changed since the demo made it)")
        return lines

    def _load_desks(self, wanted: dict, report) -> dict:
        """The demo desks by slug, each created if missing; an existing one keeps its name."""
        desks = {desk.slug: desk for desk in Desk.objects.filter(slug__in=wanted)}
        for slug, name in wanted.items():
            if slug in desks:
                report.append(f"kept desk {slug} (“{desks[slug].name}”)")
            else:
                desks[slug] = Desk.objects.create(slug=slug, name=name)
                report.append(f"added desk {slug} (“{name}”)")
        return desks

    def _load_stories(self, stories, desks, report):
        """Each demo story missing from the database (by original URL) added; the others left
        exactly as they are, whatever their state (a story a moderator took down stays down)."""
        urls = [story.original_url for _, story in stories]
        present = {
            a.original_url: a
            for a in Article.objects.filter(original_url__in=urls).only("slug", "status", "original_url")
        }
        users = {u.username: u for u in get_user_model().objects.filter(username__in=("editor", "moderator"))}
        for entry, story in stories:
            article = present.get(story.original_url)
            if article is not None:
                report.append(f"kept    {article.get_absolute_url()}  ({article.get_status_display().lower()})")
                continue
            try:
                with transaction.atomic():  # no half-written story is left for the message to explain
                    article = self._add_story(entry, story, desks, users["editor"], users["moderator"])
            except (ImportRefused, workflow.WorkflowError) as error:
                why = error.message if isinstance(error, ImportRefused) else str(error)
                raise DemoRefused(
                    f"The demo story {entry['file']} is missing and cannot be added back: {why}. "
                    "The demo adds it as the 'editor' account and approves it as 'moderator'; "
                    "give them back their roles, or delete the changed record, and run load_demo again."
                ) from error
            report.append(f"added   {article.get_absolute_url()}  (live)")

    def _add_story(self, entry, story, desks, editor, moderator) -> Article:
        """The editor imports and dresses the story and submits it; the moderator approves (two
        people, as the four-eyes rule wants)."""
        article = story_save(story=story, user=editor).article
        article.desk = desks[entry["desk"]]
        article.byline = entry.get("byline", "")
        article.image.save(f"{article.slug}.jpg", _demo_image(entry["colour"]), save=False)
        self.images_written.append(article.image.name)
        # Made here, so that the approval below finds them made (and no task for them is left).
        renditions = images.renditions_make(article.image.name)
        self.images_written.extend(rendition["name"] for rendition in renditions)
        article.image_alt = entry["image_alt"]
        article.image_credit = "Illustration: Newsroom demo"
        article.save()
        article.tags.set(entry.get("tags", []))
        workflow.article_saved(article=article, user=editor)
        workflow.article_submit(article=article, user=editor)
        workflow.article_approve(article=article, user=moderator)
        return article


def _parse(filename: str):
    path = DEMO_DIR / "stories" / filename
    try:
        return parse(path.read_text(encoding="utf-8-sig"))
    except StoryFormatError as error:
        raise CommandError(f"{path}: {error}") from error


def _demo_image(colour: str) -> ContentFile:
    """A plain banded illustration, so that demo stories have a hero image without downloads."""
    width, height = 1200, 675
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, width, 60):
        shade = 255 if (i // 60) % 2 else 0
        draw.rectangle([i, height * 2 // 3, i + 30, height], fill=(shade, shade, shade))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return ContentFile(buffer.getvalue())
