"""The newsroom's content: sources, desks, stories and their ordered parts.

An Article row with its children is the editors' working copy. Readers reach stories only
through `Article.objects.live()`.
"""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from articles.storyformat import TAKE_KINDS
from articles.text import markdown_to_html
from articles.validators import host_name, no_control_characters



class Source(models.Model):
    """A publication whose stories we republish, and the credit it asks for."""

    name = models.CharField(max_length=200, unique=True, validators=[no_control_characters])
    site = models.CharField(max_length=200, blank=True, help_text="Its web site as a host name, e.g. www.example.com",
                            validators=[no_control_characters, host_name])
    credit = models.CharField(
        "credit condition",
        max_length=300,
        blank=True,
        help_text="Shown with every story, e.g. “Please credit Example News when republishing.”",
        validators=[no_control_characters],
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="source_name_not_empty")]

    def __str__(self):
        return self.name


class Desk(models.Model):
    """A section of the newsroom (Technology, Climate, ...); each story belongs to one."""

    name = models.CharField(max_length=100, unique=True, validators=[no_control_characters])
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ArticleQuerySet(models.QuerySet):
    def live(self):
        """The one door to what readers may see: an approved revision whose time has come.

        Scheduling is only `live_from` in the future and expiry `live_until` in the past,
        so no background worker is needed for a story to appear or go.
        """
        now = timezone.now()
        return self.filter(live_revision__isnull=False, live_from__lte=now).filter(
            Q(live_until__isnull=True) | Q(live_until__gt=now)
        )


class ArticleStatus(models.TextChoices):
    """The state of a story's working copy."""

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class TakeKind(models.TextChoices):
    """The three kinds of take point; emoji and labels come from the story format."""

    WHY_IT_MATTERS = "why_it_matters", "Why This Matters"
    LIMITATIONS = "limitations", "Limitations & Risks"
    ADVICE = "advice", "Actionable Advice"


class Article(models.Model):
    """A story: the working copy that editors edit."""

    Status = ArticleStatus

    title = models.CharField(max_length=300, validators=[no_control_characters])
    slug = models.SlugField(max_length=200, unique=True)
    lede = models.TextField(help_text="One or more paragraphs (Markdown) that open the story.")
    lede_html = models.TextField(blank=True, editable=False)
    image = models.ImageField(
        "hero image", upload_to="articles/%Y/%m/", blank=True, width_field="image_width", height_field="image_height"
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_alt = models.CharField(
        "image alt text", max_length=300, blank=True, validators=[no_control_characters], help_text="What the image shows, for readers who cannot see it."
    )
    image_credit = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    byline = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="articles")
    tags = TaggableManager(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, null=True, blank=True, related_name="articles")
    original_url = models.URLField(
        "original URL", max_length=500, blank=True, help_text="The story's address at its source (http or https).",
        validators=[URLValidator(schemes=["http", "https"])],
    )
    key_facts_heading = models.CharField(max_length=200, blank=True, default="Key Facts",
                                         validators=[no_control_characters])
    status = models.CharField(
        max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic locking: every save of the working copy increments it.
    version = models.PositiveIntegerField(default=0, editable=False)
    # Share-preview links carry this number; moving it on (revoke, unpublish) ends every
    # link issued before (articles.previews).
    share_links_version = models.PositiveIntegerField(default=0, editable=False)

    # Workflow (set only by articles.workflow).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True, help_text="The moderator's last request for changes.")
    has_unpublished_changes = models.BooleanField(default=False)

    # What readers see: the approved revision and its window.
    live_revision = models.ForeignKey(
        "Revision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    live_from = models.DateTimeField(null=True, blank=True, db_index=True)
    live_until = models.DateTimeField(null=True, blank=True, db_index=True)
    # An approved update of a live story waiting for its go-live time; readers keep the
    # live revision until then (see workflow.promote_due_updates).
    next_revision = models.ForeignKey(
        "Revision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_from = models.DateTimeField(null=True, blank=True, db_index=True)
    next_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(
        "first published", null=True, blank=True, db_index=True, help_text="The public date of first publication."
    )
    public_updated_at = models.DateTimeField(
        "publicly updated", null=True, blank=True, help_text="Moved by an update or correction, not by a minor fix."
    )
    unpublished_at = models.DateTimeField(null=True, blank=True)
    # The address readers reach the live revision at, and its text for search (set on approve).
    live_slug = models.SlugField(max_length=200, null=True, blank=True, unique=True, editable=False)
    search_title = models.TextField(blank=True, editable=False)
    search_summary = models.TextField(blank=True, editable=False)
    search_body = models.TextField(blank=True, editable=False)
    # The weighted tsvector of the three fields above, kept on PostgreSQL (GIN-indexed); unused on SQLite.
    search_document = SearchVectorField(null=True, editable=False)
    # The live revision's desk, source and tags, for the public lists and filters (the
    # working copy's may differ until a new version is approved).
    live_desk = models.ForeignKey(Desk, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  editable=False)
    live_source = models.ForeignKey(Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    editable=False)
    live_tags = models.ManyToManyField("taggit.Tag", through="LiveTag", blank=True, related_name="+", editable=False)
    # The live revision's card (articles.cards): what lists, feeds and the API's list show.
    live_card = models.JSONField(null=True, blank=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        permissions = [
            ("submit_article", "Can submit stories for review and withdraw them"),
            ("approve_article", "Can approve stories and request changes"),
            ("unpublish_article", "Can unpublish and reopen stories"),
            ("edit_in_review", "Can fix copy while a story is in review"),
        ]
        indexes = [
            # Public lists walk these newest first; the admin list is newest-edited first.
            models.Index(fields=["-published_at", "-id"], name="article_published_idx"),
            models.Index(fields=["live_desk", "-published_at"], name="article_desk_published_idx"),
            models.Index(fields=["-updated_at"], name="article_updated_idx"),
            # Live stories only, narrow, carrying what the live filter reads: counting them
            # (sitemap index) and grouping them by month (archive) read this index alone on
            # PostgreSQL instead of every wide row (300 ms -> 50 ms at 100k stories).
            models.Index(
                fields=["-published_at", "-id"], include=["live_from", "live_until", "public_updated_at"],
                condition=models.Q(live_revision__isnull=False), name="article_live_listing_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="article_title_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="article_slug_not_empty"),
            models.UniqueConstraint(
                fields=["original_url"], condition=~Q(original_url=""), name="article_unique_original_url"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ArticleStatus.values), name="article_status_valid"
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.lede_html = markdown_to_html(self.lede)
        if kwargs.get("update_fields") is not None and "lede" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "lede_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """The public address: where the live revision is (or will be) read."""
        return reverse("articles:detail", kwargs={"slug": self.live_slug or self.slug})

    @property
    def is_scheduled(self) -> bool:
        return self.live_revision_id is not None and self.live_from is not None and self.live_from > timezone.now()

    @property
    def is_live(self) -> bool:
        now = timezone.now()
        return (
            self.live_revision_id is not None
            and self.live_from is not None
            and self.live_from <= now
            and (self.live_until is None or self.live_until > now)
        )

    def status_label(self) -> str:
        """The state as editors read it, e.g. "Published, with unpublished changes"."""
        if self.status == ArticleStatus.PUBLISHED:
            if self.is_scheduled:
                return "Scheduled"
            if self.next_revision_id is not None:
                return "Published, update scheduled"
            if self.has_unpublished_changes:
                return "Published, with unpublished changes"
        label = self.get_status_display()
        if self.status in (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW) and self.live_revision_id:
            label += " (live version online)"
        return label


class LiveTag(models.Model):
    """A tag of a live revision, with the story's first-publication time beside it (set by
    the workflow when the story goes live; it never changes after). A tag's page and feed
    walk its own stories newest first through the (tag, published_at) index, instead of
    walking every live story to find the tag's."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="live_taggings", db_index=False)
    tag = models.ForeignKey("taggit.Tag", on_delete=models.CASCADE, related_name="+", db_index=False)
    published_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "tag"], name="livetag_article_tag_unique")]
        indexes = [models.Index(fields=["tag", "-published_at", "-article"], name="livetag_tag_published_idx")]

    def __str__(self):
        return f"{self.article_id}: {self.tag_id}"


class OrderedChild(models.Model):
    """A part of a story kept in an editor-chosen order."""

    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position"]


class KeyFact(OrderedChild):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="key_facts")
    label = models.CharField(max_length=200, validators=[no_control_characters])
    text = models.TextField()

    class Meta(OrderedChild.Meta):
        constraints = [
            models.UniqueConstraint(fields=["article", "position"], name="keyfact_unique_position"),
            models.CheckConstraint(condition=~Q(label=""), name="keyfact_label_not_empty"),
            models.CheckConstraint(condition=~Q(text=""), name="keyfact_text_not_empty"),
        ]

    def __str__(self):
        return self.label


class Section(OrderedChild):
    """A body section ("pillar section"): heading, Markdown body, optional points."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="sections")
    heading = models.CharField(max_length=300, validators=[no_control_characters])
    body = models.TextField(blank=True, help_text="Markdown.")
    body_html = models.TextField(blank=True, editable=False)
    points_heading = models.CharField(max_length=300, blank=True, validators=[no_control_characters])

    class Meta(OrderedChild.Meta):
        constraints = [
            models.UniqueConstraint(fields=["article", "position"], name="section_unique_position"),
            models.CheckConstraint(condition=~Q(heading=""), name="section_heading_not_empty"),
        ]

    def __str__(self):
        return self.heading

    def save(self, *args, **kwargs):
        self.body_html = markdown_to_html(self.body)
        super().save(*args, **kwargs)


class Point(OrderedChild):
    """A pillar point in a section: a short label (may be empty) and its text."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="points")
    label = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    text = models.TextField()

    class Meta(OrderedChild.Meta):
        constraints = [
            models.UniqueConstraint(fields=["section", "position"], name="point_unique_position"),
            models.CheckConstraint(condition=~Q(text=""), name="point_text_not_empty"),
        ]

    def __str__(self):
        return self.label or self.text[:50]


class Take(models.Model):
    """The house commentary block, e.g. “Gogo's Take”."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="take")
    title = models.CharField(max_length=200, default="The Newsroom's Take", validators=[no_control_characters])

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="take_title_not_empty")]

    def __str__(self):
        return self.title


class TakePoint(OrderedChild):
    Kind = TakeKind

    take = models.ForeignKey(Take, on_delete=models.CASCADE, related_name="points")
    kind = models.CharField(max_length=20, choices=TakeKind.choices)
    text = models.TextField()

    class Meta(OrderedChild.Meta):
        constraints = [
            models.UniqueConstraint(fields=["take", "position"], name="takepoint_unique_position"),
            models.CheckConstraint(condition=~Q(text=""), name="takepoint_text_not_empty"),
            models.CheckConstraint(
                condition=Q(kind__in=TakeKind.values), name="takepoint_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.emoji} {self.get_kind_display()}"

    @property
    def emoji(self) -> str:
        return TAKE_KINDS[self.kind][0]


class Revision(models.Model):
    """An immutable snapshot of a story's content: taken on every save and on approval."""

    class Kind(models.TextChoices):
        SAVE = "save", "Saved"
        IMPORT = "import", "Imported"
        RESTORE = "restore", "Restored"
        APPROVAL = "approval", "Approved"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    data = models.JSONField()

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="revision_unique_number")]

    def __str__(self):
        return f"#{self.number} {self.get_kind_display().lower()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A revision is immutable once written.")
        super().save(*args, **kwargs)


class Transition(models.Model):
    """One step of the workflow: who moved the story from which state to which, and why."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=20, choices=ArticleStatus.choices)
    to_status = models.CharField(max_length=20, choices=ArticleStatus.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)
    revision = models.ForeignKey(Revision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"


class SlugRedirect(models.Model):
    """An address a live story used to have: answered with a permanent redirect."""

    old_slug = models.SlugField(max_length=200, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="slug_redirects")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.old_slug} → {self.article.slug}"
