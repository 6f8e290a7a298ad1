"""Export stories (their working copy) as story-format text files."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.exporting import ExportRefused, article_export
from articles.models import Article


class Command(BaseCommand):
    help = (
        "Write stories (their working copy, as editors see it) in the story format: to stdout, or as "
        "<slug>.txt files in --out DIR. Importing such a file gives the same story."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="+", metavar="SLUG")
        parser.add_argument("--out", metavar="DIR", help="Write <slug>.txt files into this folder (made if missing).")

    def handle(self, *args, slugs, out, **options):
        found = Article.objects.select_related("source", "desk").in_bulk(slugs, field_name="slug")
        if missing := [slug for slug in slugs if slug not in found]:
            raise CommandError(f"No story with the slug {', '.join(repr(s) for s in missing)}; nothing was written.")
        exports = []
        for slug in dict.fromkeys(slugs):
            try:
                exports.append(article_export(found[slug]))
            except ExportRefused as refusal:
                raise CommandError(f"{slug}: {refusal.message}; nothing was written.") from None
        for export in exports:
            for warning in export.warnings:
                self.stderr.write(f"{export.article.slug}: warning: {warning}")
        if out is None:
            self.stdout.write("\n".join(export.text for export in exports), ending="")
            return
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for export in exports:
            path = folder / export.filename
            path.write_text(export.text, encoding="utf-8", newline="\n")
            self.stdout.write(str(path))
