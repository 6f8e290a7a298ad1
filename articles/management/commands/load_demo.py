"""Load the demo newsroom: our own demo stories, desks, and demo accounts (development only)."""

import io
import tomllib
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from PIL import Image, ImageDraw

from articles import workflow
from articles.importing import ImportRefused, story_save
from articles.models import Article, Desk
from articles.storyformat import parse

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"

# Development-only accounts; load_demo refuses to run with DEBUG off unless forced.
DEMO_ACCOUNTS = [
    # username, password, group (None: superuser)
    ("editor", "editor-demo-2026", "Editors"),
    ("moderator", "moderator-demo-2026", "Moderators"),
    ("admin", "admin-demo-2026", None),
]


class Command(BaseCommand):
    help = "Load the demo stories, desks and accounts (editor, moderator, admin). Development only."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on a public site).")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("load_demo creates accounts with known passwords; it runs only with DEBUG=1.")
        manifest = tomllib.loads((DEMO_DIR / "stories.toml").read_text(encoding="utf-8"))
        # The demo's own workflow steps send no email; the ones people take in the admin do.
        with (
            override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}),
            transaction.atomic(),
        ):
            accounts = self._load_accounts()
            editor, moderator = (get_user_model().objects.get(username=name) for name in ("editor", "moderator"))
            desks = {
                slug: Desk.objects.update_or_create(slug=slug, defaults={"name": name})[0]
                for slug, name in manifest["desks"].items()
            }
            for entry in manifest["stories"]:
                self._load_story(entry, desks, editor, moderator)
        self.stdout.write(self.style.SUCCESS("Demo accounts (development only):"))
        for username, password, role in accounts:
            self.stdout.write(f"  {username:<10} password: {password:<22} ({role})")

    def _load_story(self, entry, desks, editor, moderator):
        """The editor imports and dresses the story and submits it; the moderator approves (two
        people, as the four-eyes rule wants). A demo story someone has changed since it was
        loaded is kept as they left it."""
        path = DEMO_DIR / "stories" / entry["file"]
        story = parse(path.read_text(encoding="utf-8-sig"))
        try:
            article = story_save(story=story, user=editor).article
        except ImportRefused as refusal:
            self.stdout.write(f"kept as it is: {refusal.message}")
            return
        article.desk = desks[entry["desk"]]
        article.byline = entry.get("byline", "")
        if not article.image:
            article.image.save(f"{article.slug}.jpg", _demo_image(entry["colour"]), save=False)
            article.image_alt = entry["image_alt"]
            article.image_credit = "Illustration: Newsroom demo"
        article.save()
        article.tags.set(entry.get("tags", []))
        workflow.article_saved(article=article, user=editor)
        if not article.is_live or article.has_unpublished_changes:
            if article.status != Article.Status.IN_REVIEW:
                workflow.article_submit(article=article, user=editor)
            workflow.article_approve(article=article, user=moderator)
        self.stdout.write(f"{article.get_absolute_url()}")

    def _load_accounts(self):
        User = get_user_model()
        loaded = []
        for username, password, group_name in DEMO_ACCOUNTS:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.is_staff = True
            user.is_superuser = group_name is None
            user.set_password(password)
            user.save()
            if group_name:
                user.groups.set([Group.objects.get(name=group_name)])
            loaded.append((username, password, group_name or "superuser"))
        return loaded


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
