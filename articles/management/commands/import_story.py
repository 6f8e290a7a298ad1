"""Import story files in the plain-text story format, one article per file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from taggit.utils import parse_tags

from articles.importing import ImportRefused, NewStoryFields, story_save
from articles.models import Article, Desk
from articles.storyformat import StoryFormatError, decode, parse
from articles.validators import control_character_error
from articles.workflow import WorkflowError


class Command(BaseCommand):
    help = (
        "Import story files (see story-format.md). Prints each story's public URL path. "
        "A file whose original URL is already known updates that story, unless someone changed the story since "
        "its last import (then --overwrite is needed). A file whose site or credit line differs from the stored "
        "source's is refused unless --update-source is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--user",
            required=True,
            metavar="USERNAME",
            help="The acting user: author of new stories, editor of updated ones.",
        )
        parser.add_argument(
            "--publish", action="store_true", help="Approve and publish at once (the user must be allowed to approve)."
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Re-import a known story even if someone changed it since its last import "
            "(their changes are replaced; the history keeps them); without it such a file is "
            "refused.",
        )
        parser.add_argument("--desk", metavar="SLUG", help="The desk of new stories (an updated story keeps its own).")
        parser.add_argument("--byline", metavar="TEXT", default="", help="The byline of new stories.")
        parser.add_argument(
            "--tags", metavar="TAGS", default="", help='Tags of new stories, separated by commas ("energy, cities").'
        )
        parser.add_argument(
            "--update-source",
            action="store_true",
            help="Let the file's site and credit line replace the stored source's (recorded in "
            "the history of every story using it); without it such a file is refused.",
        )

    def handle(self, *args, files, publish, user, update_source, overwrite, desk, byline, tags, **options):
        try:
            actor = get_user_model().objects.get(username=user, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user {user!r}.") from None
        new_story = _new_story_fields(desk, byline, tags)
        failures = 0
        for name in files:
            try:
                story = parse(_read(Path(name)))
                result = story_save(
                    story=story,
                    user=actor,
                    publish=publish,
                    update_source=update_source,
                    overwrite=overwrite,
                    new_story=new_story,
                )
            except StoryFormatError as error:
                failures += 1
                where = f"{name}:{error.line}" if error.line else name
                self.stderr.write(f"{where}: error: {error.message}")
                continue
            except (WorkflowError, ImportRefused) as error:
                failures += 1
                self.stderr.write(f"{name}: error: {error.message}")
                continue
            except OSError as error:
                failures += 1
                self.stderr.write(f"{name}: error: cannot read the file ({error.strerror or error})")
                continue
            article = result.article
            if result.source_note:  # --update-source rewrote the stored source
                self.stdout.write(f"{name}: {result.source_note}")
            verb = "created" if result.created else "updated"
            self.stdout.write(f"{article.get_absolute_url()}\t{verb}, {article.get_status_display().lower()}")
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) not imported; see the errors above.")


def _read(path: Path) -> str:
    return decode(path.read_bytes())


BYLINE_MAX = Article._meta.get_field("byline").max_length


def _new_story_fields(desk: str | None, byline: str, tags: str) -> NewStoryFields:
    """--desk, --byline and --tags, checked as the admin's import form checks them; nothing is
    imported when one is wrong."""
    found = None
    if desk:
        found = Desk.objects.filter(slug=desk).first()
        if found is None:
            known = ", ".join(Desk.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"--desk: no desk with the slug {desk!r} (desks: {known}); nothing was imported.")
    byline = byline.strip()
    if problem := control_character_error(byline):
        raise CommandError(f"--byline: {problem}; nothing was imported.")
    if len(byline) > BYLINE_MAX:
        raise CommandError(f"--byline: at most {BYLINE_MAX} characters ({len(byline)} given); nothing was imported.")
    return NewStoryFields(desk=found, byline=byline, tags=parse_tags(tags))
