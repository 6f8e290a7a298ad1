"""Workflow emails, sent through Django's tasks API so that a worker can take them over.

With the default immediate backend they are sent when the transition commits; set TASKS to
a queue backend in production. Development prints them to the console.
"""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.tasks import task
from django.urls import reverse


def transition_happened(transition_id: int) -> None:
    """Queue the emails for one transition (called on commit by the workflow)."""
    send_transition_emails.enqueue(transition_id)


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

    record = Transition.objects.select_related("article", "user", "article__created_by", "article__submitted_by").get(
        pk=transition_id
    )
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
        send_mass_mail(messages, fail_silently=False)
    return len(messages)


def _author_message(record, article, actor_name, link):
    if record.action == "approve":
        when = record.article.live_from
        timing = "It is live now." if when is None or when <= record.at else f"It goes live at {when:%Y-%m-%d %H:%M %Z}."
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
