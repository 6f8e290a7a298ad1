"""Delete media nothing uses any more: images of versions whose window closed by expiry, their
renditions, and uploads kept for a retry that never came (articles.media.prune)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from articles.media import prune


class Command(BaseCommand):
    help = (
        "Delete hero images (originals and renditions) that no story's working copy uses and no live "
        "or scheduled version shows, and uploads kept for a retry longer than a retry may take. "
        "Run it from cron, e.g. hourly; it lists the media storage (local folder or bucket)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=60,
            help="Leave objects younger than this alone: an upload is stored before its story commits (60).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would go; delete nothing.")

    def handle(self, *args, grace_minutes, dry_run, **options):
        if grace_minutes < 1:
            raise CommandError("--grace-minutes must be 1 or more: an upload is stored before its story commits.")
        deleted = prune(grace=timedelta(minutes=grace_minutes), dry_run=dry_run)
        for name in deleted:
            self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {name}")
        self.stdout.write(f"{len(deleted)} object(s) {'to delete' if dry_run else 'deleted'}.")
