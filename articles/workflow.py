"""The editorial workflow: states, transitions, and who may fire them.

    draft --submit--> in review --approve--> published --unpublish--> archived --reopen--> draft
                      in review --request changes / withdraw--> draft
    published, with unpublished changes --submit--> in review

One function per transition. Each locks the story's row, checks the state and the user's
permission (refusing with a message a person can act on), changes the state, writes a
Transition record and queues the notifications, all in one transaction. The admin, the
command line and the tests call these; nothing else sets `status`.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from articles import attribution, images, notifications, publications
from articles.media import release_on_commit
from articles.models import Article, ArticleStatus, Revision, Transition
from articles.snapshots import article_snapshot, snapshot_content

DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED = (
    ArticleStatus.DRAFT,
    ArticleStatus.IN_REVIEW,
    ArticleStatus.PUBLISHED,
    ArticleStatus.ARCHIVED,
)


class WorkflowError(Exception):
    """A refused workflow step; `message` says why in words an editor can act on."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class TransitionNotAllowed(WorkflowError):
    """The story's state does not allow this step (or the input is incomplete)."""


class TransitionPermissionError(WorkflowError):
    """This user may not take this step."""


class RenditionsPending(TransitionNotAllowed):
    """The hero image's renditions are not all made yet (a worker makes them)."""

    def __init__(self, message: str, image: str):
        self.image = image
        super().__init__(message)


class EditConflict(WorkflowError):
    """Someone else saved the story since this person opened it."""


class ChangeKind:
    """How a new version of a live story is announced to readers."""

    MINOR = "minor"  # typo: no notice, the public "updated" date stays
    UPDATE = "update"
    CORRECTION = "correction"
    CHOICES = [
        (MINOR, "Minor fix (no notice)"),
        (UPDATE, "Update (dated notice on the story)"),
        (CORRECTION, "Correction (dated notice on the story)"),
    ]


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    needs_comment: bool = False


ACTIONS = {
    "submit": Action("submit", "Submit for review"),
    "withdraw": Action("withdraw", "Withdraw"),
    "request-changes": Action("request-changes", "Request changes", needs_comment=True),
    "approve": Action("approve", "Approve and publish"),
    "unpublish": Action("unpublish", "Unpublish", needs_comment=True),
    "reopen": Action("reopen", "Reopen as draft"),
}


def _name(user) -> str:
    return user.get_username() if user is not None else "nobody"


def _require(user, perm: str, doing: str) -> None:
    if user is None or not user.is_active or not user.has_perm(f"articles.{perm}"):
        raise TransitionPermissionError(f"{_name(user)} may not {doing}: that needs the {perm!r} permission.")


def _require_state(article: Article, allowed: tuple, doing: str) -> None:
    if article.status not in allowed:
        states = " or ".join(str(ArticleStatus(s).label).lower() for s in allowed)
        raise TransitionNotAllowed(
            f"Cannot {doing} “{article.title}”: it is {article.get_status_display().lower()}, and only a story "
            f"that is {states} can be."
        )


# Guards: the rules of each transition, used both to refuse and to list what a user may do.


def _require_attribution(article: Article, doing: str) -> None:
    refusal = attribution.attribution_refusal(article, doing)
    if refusal:
        raise TransitionNotAllowed(refusal)


def _guard_submit(article, user):
    _require(user, "submit_article", "submit stories for review")
    if article.status == PUBLISHED and not article.has_unpublished_changes:
        raise TransitionNotAllowed(f"“{article.title}” is published and has no unpublished changes to submit.")
    _require_state(article, (DRAFT, PUBLISHED), "submit")
    # Refused here too, so that no moderator is handed a story they cannot approve.
    _require_attribution(article, "submitted")


def _guard_withdraw(article, user):
    _require_state(article, (IN_REVIEW,), "withdraw")
    if (
        user is None
        or not user.is_active
        or not (article.submitted_by_id == user.pk or user.has_perm("articles.approve_article"))
    ):
        raise TransitionPermissionError(
            f"{_name(user)} may not withdraw “{article.title}”: only the person who submitted it, or a moderator, can."
        )


def _guard_request_changes(article, user):
    _require(user, "approve_article", "request changes")
    _require_state(article, (IN_REVIEW,), "send back")


def _guard_approve(article, user, *, direct: bool = False):
    _require(user, "approve_article", "approve stories")
    allowed = (IN_REVIEW, DRAFT, PUBLISHED) if direct else (IN_REVIEW,)
    _require_state(article, allowed, "approve")
    if settings.NEWSROOM_FOUR_EYES:
        _require_second_person(article, user)
    if article.image and not article.image_alt.strip():
        raise TransitionNotAllowed(f"“{article.title}” has a hero image without alt text; add it before publishing.")
    _require_attribution(article, "approved")


def last_change_annotations() -> dict:
    """Who last changed each story's content and when, for a list of stories: annotated on a
    queryset, they spare the four-eyes rule a query per story (`refusal` on each row)."""
    last = Revision.objects.filter(article=OuterRef("pk"), kind__in=CONTENT_KINDS).order_by("-number")
    return {
        "last_change_by_id": Subquery(last.values("created_by_id")[:1]),
        "last_change_at": Subquery(last.values("created_at")[:1]),
    }


def _last_change(article) -> tuple:
    if hasattr(article, "last_change_at"):  # read with the list (last_change_annotations)
        return article.last_change_by_id, article.last_change_at
    last = article.revisions.filter(kind__in=CONTENT_KINDS).values_list("created_by_id", "created_at").first()
    return last if last else (None, None)


def _require_second_person(article, user):
    """The four-eyes rule: the approver is neither the submitter of a story in review nor the
    last person who changed its content (the author of its latest save, import or restore)."""
    submitter_id = article.submitted_by_id if article.status == IN_REVIEW else None
    writer_id, changed_at = _last_change(article)
    if user.pk not in (submitter_id, writer_id):
        return
    if user.pk == submitter_id:
        why = f"{_name(user)} submitted “{article.title}”"
    else:
        when = timezone.localtime(changed_at).strftime("%Y-%m-%d %H:%M %Z")
        why = f"{_name(user)} made the last change to “{article.title}” (at {when})"
    users = {user.pk: user}  # the others are read only if not at hand (the queue joins the submitter)
    if submitter_id is not None and Article.submitted_by.is_cached(article):
        users[submitter_id] = article.submitted_by
    unknown = {submitter_id, writer_id} - users.keys() - {None}
    if unknown:
        users.update(get_user_model().objects.in_bulk(unknown))
    barred = list(dict.fromkeys(_name(users.get(pk)) for pk in (submitter_id, writer_id) if pk in users))
    raise TransitionPermissionError(
        f"{why} and so cannot also approve it: another moderator must, anyone but {' or '.join(barred)} "
        "(the four-eyes rule: the approver is neither the submitter nor the last person who changed the story; "
        "NEWSROOM_FOUR_EYES=0 turns it off for a one-person newsroom)."
    )


def _guard_unpublish(article, user):
    _require(user, "unpublish_article", "unpublish stories")
    if publications.approved(article.pk) is None:
        raise TransitionNotAllowed(f"“{article.title}” is not published, so it cannot be unpublished.")


def _guard_reopen(article, user):
    _require(user, "unpublish_article", "reopen archived stories")
    _require_state(article, (ARCHIVED,), "reopen")


GUARDS = {
    "submit": _guard_submit,
    "withdraw": _guard_withdraw,
    "request-changes": _guard_request_changes,
    "approve": _guard_approve,
    "unpublish": _guard_unpublish,
    "reopen": _guard_reopen,
}


def available_actions(article: Article, user) -> list[Action]:
    """The transitions this user may fire on this story now, in workflow order."""
    allowed = []
    for name, guard in GUARDS.items():
        try:
            guard(article, user)
        except WorkflowError:
            continue
        allowed.append(ACTIONS[name])
    return allowed


def refusal(article: Article, user, action: str) -> str | None:
    """Why this user may not take this step now (for the change page), or None if they may."""
    try:
        GUARDS[action](article, user)
    except WorkflowError as error:
        return error.message
    return None


def can_edit(article: Article, user) -> bool:
    """Whether this user may change the story's content in its current state."""
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if article.status == IN_REVIEW:
        return user.has_perm("articles.edit_in_review")
    if article.status == ARCHIVED:
        return False
    return user.has_perm("articles.change_article")


def edit_refusal(article: Article, user) -> str:
    """Why this user may not edit the story now (for messages)."""
    if article.status == IN_REVIEW:
        return f"“{article.title}” is in review and locked for editing; withdraw it to edit."
    if article.status == ARCHIVED:
        return f"“{article.title}” is archived; reopen it as a draft to edit."
    return f"{_name(user)} may not edit stories."


def _locked(article: Article) -> Article:
    return Article.objects.select_for_update(of=("self",)).get(pk=article.pk)


def _move(article: Article, *, user, action: str, to: str, comment: str = "", revision=None, **fields) -> Transition:
    """Write the new state (only if the state is still what was checked) and the record."""
    from_status = article.status
    updated = Article.objects.filter(pk=article.pk, status=from_status).update(status=to, **fields)
    if updated != 1:  # another transition won the race (SQLite has no row locks)
        raise TransitionNotAllowed(f"“{article.title}” was changed by someone else meanwhile; reload and try again.")
    article.status = to
    for name, value in fields.items():
        setattr(article, name, value)
    record = Transition.objects.create(
        article=article,
        action=action,
        from_status=from_status,
        to_status=to,
        user=user,
        comment=comment,
        revision=revision,
    )
    notifications.transition_recorded(record.pk)
    return record


def _comment(text: str, what: str, article: Article) -> str:
    text = (text or "").strip()
    if not text:
        raise TransitionNotAllowed(f"Give {what} for “{article.title}”; it cannot be empty.")
    return text


@transaction.atomic
def article_submit(*, article: Article, user, note: str = "") -> Transition:
    """Send the working copy to the moderators' review queue, with an optional note for the
    moderator (kept as the submission's comment; see `submission_note`)."""
    locked = _locked(article)
    _guard_submit(locked, user)
    record = _move(
        locked,
        user=user,
        action="submit",
        to=IN_REVIEW,
        comment=(note or "").strip(),
        submitted_by=user,
        submitted_at=timezone.now(),
        review_comment="",
    )
    _refresh(article)
    return record


@transaction.atomic
def article_withdraw(*, article: Article, user) -> Transition:
    """Take a submission back out of review so that it can be edited again."""
    locked = _locked(article)
    _guard_withdraw(locked, user)
    record = _move(locked, user=user, action="withdraw", to=DRAFT)
    _refresh(article)
    return record


@transaction.atomic
def article_request_changes(*, article: Article, user, comment: str) -> Transition:
    """Send a submission back to its editor with a comment saying what to change."""
    locked = _locked(article)
    _guard_request_changes(locked, user)
    comment = _comment(comment, "a comment saying what to change", locked)
    record = _move(locked, user=user, action="request-changes", to=DRAFT, comment=comment, review_comment=comment)
    _refresh(article)
    return record


def article_approve(
    *,
    article: Article,
    user,
    go_live_at: datetime | None = None,
    expires_at: datetime | None = None,
    change_kind: str = ChangeKind.MINOR,
    change_note: str = "",
    direct: bool = False,
) -> Transition:
    """Approve the working copy: take an immutable revision and put it live now or at
    `go_live_at` (articles.publications.go_live), until `expires_at` if given.

    A later time for a live story is a scheduled update: readers keep the current version
    until then. `direct` publishes a draft without a review step (import_story --publish);
    the four-eyes rule still applies: the approver may not be the last person who changed
    the content. A version whose hero image's renditions are not all made is refused
    (RenditionsPending), and they are asked for again if no task is making them.
    """
    try:
        return _approve(
            article=article,
            user=user,
            go_live_at=go_live_at,
            expires_at=expires_at,
            change_kind=change_kind,
            change_note=change_note,
            direct=direct,
        )
    except RenditionsPending as refusal:
        # After the refused transaction (and the caller's, if any) is over: a request made
        # inside it would be undone with it.
        transaction.on_commit(partial(images.renditions_request, refusal.image), robust=True)
        raise


@transaction.atomic
def _approve(*, article, user, go_live_at, expires_at, change_kind, change_note, direct) -> Transition:
    locked = _locked(article)
    _guard_approve(locked, user, direct=direct)
    now = timezone.now()
    live_from = max(go_live_at, now) if go_live_at else now
    if expires_at is not None and expires_at <= live_from:
        raise TransitionNotAllowed("The expiry time must be after the go-live time.")
    previous = publications.latest_before(locked.pk, live_from)
    changes = list(previous.changes) if previous else []
    updated_at = previous.updated_at if previous else None
    if previous is not None and change_kind != ChangeKind.MINOR:
        if change_kind not in (ChangeKind.UPDATE, ChangeKind.CORRECTION):
            raise TransitionNotAllowed(f"Unknown kind of change {change_kind!r}: use minor, update or correction.")
        note = _comment(change_note, f"a short note for readers about this {change_kind}", locked)
        changes.append({"kind": change_kind, "note": note, "at": live_from.isoformat()})
        updated_at = live_from
    data = article_snapshot(locked)
    try:
        renditions = images.snapshot_renditions(data)
    except images.ImageUnreadable as error:
        raise TransitionNotAllowed(
            f"The hero image of “{locked.title}” cannot be read ({error}); upload it again."
        ) from error
    except images.RenditionsNotReady as missing:
        raise RenditionsPending(_renditions_refusal(locked, missing), image=missing.image) from missing
    revision = _revision_create(locked, user=user, kind=Revision.Kind.APPROVAL, data=data)
    try:
        publications.go_live(
            locked,
            revision,
            start=live_from,
            end=expires_at,
            changes=changes,
            updated_at=updated_at,
            renditions=renditions,
        )
    except publications.AddressTaken as error:
        raise TransitionNotAllowed(f"Cannot approve “{locked.title}”: {error.message}") from error
    when = "now" if live_from == now else f"from {live_from:%Y-%m-%d %H:%M %Z}"
    scheduled_update = live_from > now and publications.live_now(locked.pk) is not None
    record = _move(
        locked,
        user=user,
        action="approve",
        to=PUBLISHED,
        comment=(change_note or "").strip() or (f"Update live {when}." if scheduled_update else f"Live {when}."),
        revision=revision,
        has_unpublished_changes=False,
        review_comment="",
    )
    _refresh(article)
    return record


def _renditions_refusal(article: Article, missing: images.RenditionsNotReady) -> str:
    if not missing.error:
        return "The hero image's renditions are still being made; approve again in a moment."
    return (
        f"The hero image's renditions could not be made ({missing.error}); they are being tried again: approve "
        f"again in a moment, or upload the image of “{article.title}” again if this persists."
    )


@transaction.atomic
def article_unpublish(*, article: Article, user, reason: str) -> Transition:
    """Take the story off the public site at once, with a reason on the record; versions
    approved for later are dropped too, and share-preview links issued before end."""
    locked = _locked(article)
    _guard_unpublish(locked, user)
    reason = _comment(reason, "a reason for unpublishing", locked)
    publications.take_down(locked)
    record = _move(
        locked,
        user=user,
        action="unpublish",
        to=ARCHIVED,
        comment=reason,
        has_unpublished_changes=False,
        share_links_version=F("share_links_version") + 1,
    )
    _refresh(article)
    return record


@transaction.atomic
def article_reopen(*, article: Article, user) -> Transition:
    """Bring an archived story back as a draft."""
    locked = _locked(article)
    _guard_reopen(locked, user)
    record = _move(locked, user=user, action="reopen", to=DRAFT)
    _refresh(article)
    return record


TRANSITIONS = {
    "submit": article_submit,
    "withdraw": article_withdraw,
    "request-changes": article_request_changes,
    "approve": article_approve,
    "unpublish": article_unpublish,
    "reopen": article_reopen,
}


def _refresh(article: Article) -> None:
    """Show the caller's instance the new workflow state (the work was done on a locked copy)."""
    article.refresh_from_db()


def _revision_create(article: Article, *, user, kind: str, data: dict, note: str = "") -> Revision:
    # The next number is taken inside the INSERT (the caller holds the row lock) and read back
    # with it, which saves a round trip.
    last = article.revisions.order_by("-number").values("number")[:1]
    number = Coalesce(Subquery(last), Value(0)) + Value(1)
    note = note[: Revision._meta.get_field("note").max_length]  # long notes (a Source change) are cut
    return Revision.objects.create(article=article, number=number, kind=kind, created_by=user, data=data, note=note)


# The revisions that change a working copy's content (an approval only copies it).
CONTENT_KINDS = (Revision.Kind.SAVE, Revision.Kind.IMPORT, Revision.Kind.RESTORE)


def same_content(a: dict, b: dict) -> bool:
    """Whether two snapshots carry the same story, ignoring publication bookkeeping."""
    return snapshot_content(a) == snapshot_content(b)


def article_saved(
    *,
    article: Article,
    user,
    kind: str = Revision.Kind.SAVE,
    note: str = "",
    data: dict | None = None,
    locked: bool = False,
    new: bool = False,
) -> Revision:
    """Record a save of the working copy: a revision, a new version number, and whether it
    now differs from what readers see; and, once it commits, ask for the renditions of its
    hero image (articles.images). Call after the article and all its parts are written;
    `data` is their snapshot when the caller has just built it (the import), else it is read.

    `locked`: the caller's open transaction holds the story's row, and `article` is as read
    under that lock or created in it; it is then neither read again nor given a savepoint of
    its own (the import, per story). `new`: it was created in that transaction, so it has no
    publication to compare with and none is looked up.
    """
    if new and not locked:
        raise ValueError("article_saved(new=True) is for a story created in the caller's transaction (locked=True).")
    if locked:
        if not transaction.get_connection().in_atomic_block:
            raise transaction.TransactionManagementError("article_saved(locked=True) needs the caller's transaction.")
        return _record_save(current=article, article=article, user=user, kind=kind, note=note, data=data, new=new)
    with transaction.atomic():
        return _record_save(current=_locked(article), article=article, user=user, kind=kind, note=note, data=data)


def _record_save(
    *, current: Article, article: Article, user, kind: str, note: str, data: dict | None, new: bool = False
) -> Revision:
    """The work of `article_saved` on `current`, the row as locked; the caller's `article` is updated."""
    data = article_snapshot(current) if data is None else data
    revision = _revision_create(current, user=user, kind=kind, data=data, note=note)
    approved = None if new else publications.approved(current.pk)
    changed = approved is not None and not same_content(data, approved.revision.data)
    Article.objects.filter(pk=current.pk).update(
        version=F("version") + 1, updated_by=user, has_unpublished_changes=changed
    )
    article.version = current.version + 1
    article.has_unpublished_changes = changed
    article.updated_by = user
    if data.get("image"):  # made by a task from now, so that approval need not wait for them
        transaction.on_commit(partial(images.renditions_request, data["image"]["name"]), robust=True)
    return revision


def source_changed(*, source, before: dict, user, exclude_pk: int | None = None) -> int:
    """Record an edit of a shared Source (its `before` name, site and credit) in the history of
    every story that uses it and is not archived: a save revision by `user` with a note, so
    the history and the diff show it and a live story has unpublished changes. Readers keep
    the approved credit until a new version is approved. Returns how many stories."""
    note = attribution.source_change_note(before, source)
    if not note:
        return 0
    stories = Article.objects.filter(source=source).exclude(status=ARCHIVED).exclude(pk=exclude_pk).order_by("pk")
    count = 0
    for article in stories.iterator():
        article_saved(article=article, user=user, note=note)
        count += 1
    return count


def check_version(article: Article, version: int) -> None:
    """Refuse a save based on an older version, saying who changed the story and when.

    Locks the row until the end of the caller's transaction, so two saves cannot both pass.
    """
    current = Article.objects.select_for_update().filter(pk=article.pk).values_list("version", flat=True).first()
    if current is None or current == version:
        return
    latest = article.revisions.select_related("created_by").first()
    who = _name(latest.created_by) if latest and latest.created_by else "someone else"
    when = timezone.localtime(latest.created_at).strftime("%Y-%m-%d %H:%M:%S %Z") if latest else "meanwhile"
    raise EditConflict(
        f"{who} changed this story at {when}, after you opened it. Your changes are still in the form below: "
        "copy what you need, reload the page to see their version, and apply your changes again."
    )


@transaction.atomic
def article_restore(*, article: Article, revision: Revision, user) -> Revision:
    """Put an older revision's content back into the working copy (as a new revision)."""
    from articles.snapshots import snapshot_restore

    locked = _locked(article)
    if revision.article_id != locked.pk:
        raise TransitionNotAllowed("That revision belongs to another story.")
    if not can_edit(locked, user):
        raise TransitionPermissionError(edit_refusal(locked, user))
    replaced = locked.image.name
    snapshot_restore(locked, revision.data)
    if locked.image.name != replaced:
        release_on_commit(replaced)  # kept while a version readers see shows it (articles.media)
    saved = article_saved(
        article=locked, user=user, kind=Revision.Kind.RESTORE, note=f"Restored from #{revision.number}"
    )
    _refresh(article)
    return saved
