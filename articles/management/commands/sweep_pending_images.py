"""Delete hero images kept for a next try that never came (older than their token's life)."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.utils import timezone

from articles.uploads import PENDING_FOLDER, PENDING_MAX_AGE


class Command(BaseCommand):
    help = (
        f"Delete the uploads kept in {PENDING_FOLDER}/ after a refused story form once no token can "
        f"use them any more ({PENDING_MAX_AGE // 3600} hours). Run it from cron, e.g. hourly."
    )

    def handle(self, *args, **options):
        try:
            names = default_storage.listdir(PENDING_FOLDER)[1]
        except FileNotFoundError:  # nothing was ever kept
            names = []
        # A token signed just before the file was saved stays valid PENDING_MAX_AGE after
        # signing; a minute's margin covers the gap and clocks a little apart.
        cutoff = timezone.now() - timedelta(seconds=PENDING_MAX_AGE + 60)
        swept = 0
        for name in names:
            path = f"{PENDING_FOLDER}/{name}"
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                swept += 1
        self.stdout.write(f"Deleted {swept} of {len(names)} kept upload(s); the rest may still be used.")
