"""Fire a workflow step from the command line, with the same rules and records as the admin."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from articles import workflow
from articles.models import Article


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not an ISO date and time: {value!r} (e.g. 2026-12-01T09:30+00:00).") from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Move a story through the workflow: submit, withdraw, request-changes, approve, unpublish, reopen."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("action", choices=list(workflow.ACTIONS))
        parser.add_argument("--user", required=True, metavar="USERNAME", help="Who is acting.")
        parser.add_argument(
            "--comment",
            default="",
            help="Required for request-changes and unpublish; the note for readers with --change update/correction.",
        )
        parser.add_argument("--at", type=_moment, metavar="ISO-DATETIME", help="approve: go-live time.")
        parser.add_argument("--until", type=_moment, metavar="ISO-DATETIME", help="approve: expiry time.")
        parser.add_argument(
            "--change",
            choices=["minor", "update", "correction"],
            default="minor",
            help="approve, for a story already published: what kind of change this is.",
        )

    def handle(self, *args, slug, action, user, comment, at, until, change, **options):
        try:
            article = Article.objects.get(slug=slug)
        except Article.DoesNotExist:
            raise CommandError(f"No story with the slug {slug!r}.") from None
        try:
            actor = get_user_model().objects.get(username=user, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user {user!r}.") from None
        kwargs = {
            "request-changes": {"comment": comment},
            "unpublish": {"reason": comment},
            "approve": {"go_live_at": at, "expires_at": until, "change_kind": change, "change_note": comment},
        }.get(action, {})
        try:
            workflow.TRANSITIONS[action](article=article, user=actor, **kwargs)
        except workflow.WorkflowError as refusal:
            raise CommandError(refusal.message) from None
        article.refresh_from_db()
        self.stdout.write(f"{article.get_absolute_url()}\t{article.status_label().lower()}")
