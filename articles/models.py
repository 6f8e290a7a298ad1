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
    site = models.CharField(
        max_length=200,
        blank=True,
        help_text="Its web site as a host name, e.g. www.example.com",
        validators=[no_control_characters, host_name],
    )
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
        """Stories with a publication readers see now (Publication.objects.current())."""
        return self.filter(models.Exists(Publication.objects.current().filter(article=models.OuterRef("pk"))))


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
        "image alt text",
        max_length=300,
        blank=True,
        validators=[no_control_characters],
        help_text="What the image shows, for readers who cannot see it.",
    )
    image_credit = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    byline = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="articles")
    tags = TaggableManager(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, null=True, blank=True, related_name="articles")
    original_url = models.URLField(
        "original URL",
        max_length=500,
        blank=True,
        help_text="The story's address at its source (http or https).",
        validators=[URLValidator(schemes=["http", "https"])],
    )
    key_facts_heading = models.CharField(
        max_length=200, blank=True, default="Key Facts", validators=[no_control_characters]
    )
    status = models.CharField(max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT, db_index=True)
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

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        permissions = [
            ("submit_article", "Can submit stories for review and withdraw them"),
            ("approve_article", "Can approve stories and request changes"),
            ("unpublish_article", "Can unpublish and reopen stories"),
            ("edit_in_review", "Can fix copy while a story is in review"),
        ]
        indexes = [
            # The admin list is newest-edited first.
            models.Index(fields=["-updated_at"], name="article_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="article_title_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="article_slug_not_empty"),
            models.UniqueConstraint(
                fields=["original_url"], condition=~Q(original_url=""), name="article_unique_original_url"
            ),
            models.CheckConstraint(condition=Q(status__in=ArticleStatus.values), name="article_status_valid"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.lede_html = markdown_to_html(self.lede)
        if kwargs.get("update_fields") is not None and "lede" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "lede_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """The public address: where the approved version is (or will be) read."""
        publication = self.publication
        return reverse("articles:detail", kwargs={"slug": publication.slug if publication else self.slug})

    # What the editors' side shows of the publications (read from them, never copied here).

    @property
    def publication(self):
        """The version readers see now, or else the next one they will see (articles.publications)."""
        from articles.publications import approved

        return approved(self.pk) if self.pk else None

    @property
    def live_revision(self):
        publication = self.publication
        return publication.revision if publication else None

    @property
    def live_revision_id(self):
        publication = self.publication
        return publication.revision_id if publication else None

    @property
    def live_slug(self):
        """The address readers reach the approved version at (None before approval)."""
        publication = self.publication
        return publication.slug if publication else None

    @property
    def publication_state(self):
        """Where the story stands with readers (articles.publications.State)."""
        from articles.publications import state_of

        return state_of(self)

    @property
    def is_scheduled(self) -> bool:
        return self.publication_state.is_scheduled

    @property
    def is_live(self) -> bool:
        return self.publication_state.is_live

    @property
    def next_publication(self):
        """An update approved to replace the live version later, if any."""
        from articles.publications import upcoming

        return upcoming(self.pk) if self.pk else None

    def status_label(self) -> str:
        """The state as editors read it, e.g. "Published, with unpublished changes"."""
        state = self.publication_state
        if self.status == ArticleStatus.PUBLISHED:
            if state.is_scheduled:
                return "Scheduled"
            if state.update_from is not None:
                return "Published, update scheduled"
            if self.has_unpublished_changes:
                return "Published, with unpublished changes"
        label = self.get_status_display()
        if self.status in (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW) and state.open_from is not None:
            label += " (live version online)"
        return label


class PublicationQuerySet(models.QuerySet):
    def current(self, at=None):
        """The one door to what readers may see: the publications whose window holds `at`
        (now). A window is [live_from, live_until); at any instant a story has at most one
        publication in its window, so "live" is this read and nothing else: no worker and
        no request moves anything when a scheduled time comes."""
        at = at or timezone.now()
        return self.filter(live_from__lte=at).filter(Q(live_until__isnull=True) | Q(live_until__gt=at))

    def scheduled(self, at=None):
        """Publications whose window has not opened yet."""
        return self.filter(live_from__gt=at or timezone.now())

    def started(self, at=None):
        """Publications whose window has opened (live now, or ended since): a story's history
        as readers saw it, for old addresses (redirect or 410)."""
        return self.filter(live_from__lte=at or timezone.now())

    def current_or_scheduled(self, at=None):
        """Publications whose window has not closed: now live, or live later."""
        return self.filter(Q(live_until__isnull=True) | Q(live_until__gt=at or timezone.now()))


class Publication(models.Model):
    """One approved version of a story and the window in which readers see it.

    Written only by articles.publications (approve, unpublish, expiry are start and end
    times); everything public is read from `Publication.objects.current()`. The row carries
    what readers need of the version besides its revision's content: the address, the desk,
    source and tags lists filter on, the card lists show, the search text and the public
    dates. On PostgreSQL exclusion constraints forbid overlapping windows for one story or
    one address (migration 0020); publications.py checks the same in code everywhere.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="publications")
    revision = models.OneToOneField("Revision", on_delete=models.CASCADE, related_name="publication")
    slug = models.SlugField(max_length=200)  # indexed for prefix look-ups too (LIKE, on PostgreSQL)
    desk = models.ForeignKey(Desk, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.ForeignKey(Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tags = models.ManyToManyField("taggit.Tag", through="PublicationTag", blank=True, related_name="+")
    # What lists, feeds and the API's list show (articles.cards), prepared once.
    card = models.JSONField()
    # The hero image's renditions, made when the version was approved (derived, not content).
    renditions = models.JSONField(default=list, blank=True)
    # Dated notices of updates and corrections shown with this version.
    changes = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField("first published", help_text="The public date of first publication.")
    updated_at = models.DateTimeField("publicly updated", null=True, blank=True)
    live_from = models.DateTimeField()
    live_until = models.DateTimeField(null=True, blank=True)
    search_title = models.TextField(blank=True)
    search_summary = models.TextField(blank=True)
    search_body = models.TextField(blank=True)
    # The weighted tsvector of the three fields above on PostgreSQL (GIN-indexed); unused on SQLite.
    search_document = SearchVectorField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            # Public lists walk these newest first, reading the window from the index.
            models.Index(
                fields=["-published_at", "-id"], include=["live_from", "live_until"], name="publication_listing_idx"
            ),
            models.Index(fields=["desk", "-published_at", "-id"], name="publication_desk_idx"),
            models.Index(fields=["slug", "-live_from"], name="publication_slug_idx"),
            models.Index(fields=["article", "-live_from"], name="publication_article_idx"),
            # The next window boundary (a cached page is kept until then).
            models.Index(fields=["live_from"], name="publication_from_idx"),
            models.Index(fields=["live_until"], name="publication_until_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(live_until__isnull=True) | Q(live_until__gt=models.F("live_from")),
                name="publication_window_not_empty",
            ),
            models.CheckConstraint(condition=~Q(slug=""), name="publication_slug_not_empty"),
        ]

    def __str__(self):
        return f"{self.slug} [{self.live_from:%Y-%m-%d %H:%M}, {self.live_until or '…'})"

    def is_current(self, at=None) -> bool:
        at = at or timezone.now()
        return self.live_from <= at and (self.live_until is None or at < self.live_until)


class PublicationTag(models.Model):
    """A tag of a publication, with its story's first-publication time beside it, so that a
    tag's page walks its own stories newest first through the (tag, published_at) index."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="taggings", db_index=False)
    tag = models.ForeignKey("taggit.Tag", on_delete=models.CASCADE, related_name="+", db_index=False)
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["publication", "tag"], name="publicationtag_unique"),
        ]
        indexes = [models.Index(fields=["tag", "-published_at", "-publication"], name="publicationtag_tag_idx")]

    def __str__(self):
        return f"{self.publication_id}: {self.tag_id}"


class PublicationGeneration(models.Model):
    """One row: a number that moves, in the same transaction, with every change to the
    publications (publish, unpublish, delete). Cached public pages are kept under the
    number they were built in (articles.caching), so every process sees a change at once."""

    value = models.BigIntegerField(default=1)

    def __str__(self):
        return str(self.value)


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
            models.CheckConstraint(condition=Q(kind__in=TakeKind.values), name="takepoint_kind_valid"),
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
        indexes = [
            # The dashboard's recent steps and review-time chart: steps of one kind in a period.
            models.Index(fields=["action", "at"], name="transition_action_at"),
            # A story's latest step of one kind (its submission, for the note and the chart).
            models.Index(fields=["article", "action", "at"], name="transition_article_action_at"),
        ]

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"


class SlugRedirect(models.Model):
    """An address a live story used to have: answered with a permanent redirect."""

    old_slug = models.SlugField(max_length=200, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="slug_redirects")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.old_slug} → {self.article.slug}"


class ImageRenditions(models.Model):
    """The renditions of one stored hero image (articles.images), made by a task after the
    image is saved: `renditions` is None until they are all made, and `error` says why the
    last attempt failed. Approval takes a version's renditions from here."""

    image = models.CharField(max_length=255, unique=True)  # the original's name in the media storage
    renditions = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # the latest task asked to make them
    requested_at = models.DateTimeField(default=timezone.now)
    made_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "image renditions"

    def __str__(self):
        return self.image
