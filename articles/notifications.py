"""Workflow emails, sent by a task (Django's tasks framework, articles/tasks.py).

With the default immediate backend they are sent when the transition commits, in the
request; with the database backend (TASKS_BACKEND) the worker sends them, trying again
with back-off when the mail server fails. Development prints them to the console.

E-mails that cannot be sent (or queued) never undo the transition: the error is logged, and
the person who acted is told (newsroom.middleware.NotificationFailuresMiddleware shows what
`failures_collected()` gathers during their request).
"""

import logging
import re
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus, task
from django.urls import reverse

from articles.tasks import runs_at_once

logger = logging.getLogger(__name__)

# Sentences for the person acting, one per transition whose e-mails failed, while a
# failures_collected() block runs; None outside one.
_failures: ContextVar[list[str] | None] = ContextVar("notification_failures", default=None)

_DONE = {
    "submit": "submitted for review",
    "approve": "approved",
    "request-changes": "sent back to draft",
    "unpublish": "unpublished",
}


@contextmanager
def failures_collected():
    """Gather, into the list this yields, a sentence for each transition in the block whose
    e-mails could not be sent or queued."""
    failures: list[str] = []
    token = _failures.set(failures)
    try:
        yield failures
    finally:
        _failures.reset(token)


def transition_recorded(transition_id: int) -> None:
    """Called by the workflow inside the transition's transaction. A queue in the database
    (the worker's backend) gets the e-mails' task in that same transaction, so the transition
    and its e-mails commit together, or neither does: no crash between the two can lose them.
    A backend that runs the task at once (the immediate one) waits for the commit, so nothing
    is sent for a step that is then rolled back."""
    if runs_at_once(send_transition_emails):
        transaction.on_commit(lambda: transition_happened(transition_id))
    else:
        transition_happened(transition_id)


def transition_happened(transition_id: int) -> None:
    """Queue the emails for one transition (inside its transaction, or on commit with a backend
    that runs at once); a failure is logged and reported to failures_collected(), and the
    transition stands."""
    # Inside the step's transaction, a savepoint: a queue that fails leaves the step whole.
    savepoint = transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
    try:
        with savepoint:
            result = send_transition_emails.enqueue(transition_id)
    except Exception as error:  # noqa: BLE001 - whatever the queue raises, the step is done
        logger.exception("The e-mails for transition %s could not be queued", transition_id)
        _report(transition_id, f"could not be queued ({error})")
        return
    if result.status == TaskResultStatus.FAILED:  # run here and then (immediate backend); the task logged it
        _report(transition_id, f"could not be sent ({result.errors[-1].traceback.strip().splitlines()[-1]})")


def _report(transition_id: int, what_happened: str) -> None:
    failures = _failures.get()
    if failures is None:
        return
    from articles.models import Transition

    record = Transition.objects.select_related("article").filter(pk=transition_id).first()
    if record is None:
        return
    whom = "the moderators" if record.action == "submit" else "its author"
    failures.append(
        f"“{record.article.title}” was {_DONE.get(record.action, 'changed')}, but the e-mail to {whom} "
        f"{what_happened[:300]}. Please let them know another way; the error is in the server log."
    )


# Line breaks and other control characters, which a mail header cannot hold (Django refuses
# the message outright): the validators keep them out of titles, and this keeps them out of
# subjects whatever a story's title holds.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _subject(text: str) -> str:
    """A mail subject on one line: each run of control characters becomes one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _moderators(exclude_pk):
    users = get_user_model().objects.filter(is_active=True).exclude(email="").exclude(pk=exclude_pk)
    return users.filter(
        Q(is_superuser=True)
        | Q(groups__permissions__codename="approve_article")
        | Q(user_permissions__codename="approve_article")
    ).distinct()


def _admin_link(article) -> str:
    return settings.NEWSROOM_BASE_URL.rstrip("/") + reverse("admin:articles_article_change", args=[article.pk])


@task
def send_transition_emails(transition_id: int) -> int:
    """Email the people a transition concerns; returns how many messages went out."""
    from articles.models import Transition

    record = (
        Transition.objects.select_related("article", "user", "article__created_by", "article__submitted_by")
        .filter(pk=transition_id)
        .first()
    )
    if record is None:  # the story was deleted before a worker came to this: nobody to tell
        logger.info("Transition %s is gone (its story was deleted); no e-mail to send", transition_id)
        return 0
    article, actor = record.article, record.user
    actor_name = actor.get_username() if actor else "someone"
    link = _admin_link(article)
    sender = settings.DEFAULT_FROM_EMAIL
    messages = []
    if record.action == "submit":
        subject = _subject(f"[Review] {article.title}")
        body = f"{actor_name} submitted “{article.title}” for review.\n\nReview it: {link}\n"
        messages = [(subject, body, sender, [u.email]) for u in _moderators(actor.pk if actor else None)]
    elif record.action in ("approve", "request-changes", "unpublish"):
        author = article.created_by or article.submitted_by
        if author and author.email and author != actor:
            subject, body = _author_message(record, article, actor_name, link)
            messages = [(_subject(subject), body, sender, [author.email])]
    if messages:
        try:
            send_mass_mail(messages, fail_silently=False)
        except Exception:
            logger.exception(
                "The %s e-mails about “%s” (transition %s, %d messages) could not be sent",
                record.action,
                article.title,
                record.pk,
                len(messages),
            )
            raise  # the task fails, and its result says so
    return len(messages)


def _author_message(record, article, actor_name, link):
    if record.action == "approve":
        from articles.models import Publication

        publication = Publication.objects.filter(revision_id=record.revision_id).first()
        when = publication.live_from if publication else None
        timing = (
            "It is live now." if when is None or when <= record.at else f"It goes live at {when:%Y-%m-%d %H:%M %Z}."
        )
        return f"[Approved] {article.title}", f"{actor_name} approved “{article.title}”. {timing}\n\n{link}\n"
    if record.action == "request-changes":
        return (
            f"[Changes requested] {article.title}",
            f"{actor_name} sent “{article.title}” back to draft with this comment:\n\n{record.comment}\n\n{link}\n",
        )
    return (
        f"[Unpublished] {article.title}",
        f"{actor_name} unpublished “{article.title}”. Reason:\n\n{record.comment}\n\n{link}\n",
    )
