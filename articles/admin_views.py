"""The workflow screens behind the story admin: transitions, preview, history, diff,
restore and the review queue. Every rule is checked again by articles.workflow."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Subquery
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from articles import attribution, images, publications, workflow
from articles.diffing import snapshot_diff
from articles.forms import TransitionForm
from articles.models import Article, Publication, Revision, Transition
from articles.previews import preview_url, share_links_revoke
from articles.snapshots import article_snapshot
from articles.views import render_preview, working_copy


def _article(model_admin, request, object_id) -> Article:
    """The story an address names, or 404 (an id that is not a number included, e.g. "abc")."""
    try:
        pk = Article._meta.pk.to_python(object_id)
    except ValidationError:
        raise Http404("No story with that id.") from None
    article = get_object_or_404(Article.objects.select_related("submitted_by"), pk=pk)
    if not model_admin.has_view_permission(request, article):
        raise PermissionDenied
    return article


def _change_url(article) -> str:
    return reverse("admin:articles_article_change", args=[article.pk])


def _next_url(request) -> str:
    """Where to go after a workflow step, if the page that sent the person here asked: only a
    page of this admin on this host (e.g. the review queue), never another site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return url if safe and url.startswith(reverse("admin:index")) else ""


def _submission_notes():
    """The note the editor left with each story's latest submission (a subquery per story)."""
    latest = Transition.objects.filter(article=OuterRef("pk"), action="submit").order_by("-at", "-pk")
    return Subquery(latest.values("comment")[:1])


def _context(model_admin, request, article, **extra):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Article._meta,
        "original": article,
        "article": article,
        "title": extra.pop("title", str(article)),
        **extra,
    }


def change_page_context(article, user) -> dict:
    """What the change page shows about the story's review: the moderator's request for
    changes on a draft, why the story cannot go live yet (its missing attribution, for
    everyone) and, for a moderator, why there is no Approve button on a story in review."""
    context = {"review_comment": article.review_comment if article.status == Article.Status.DRAFT else ""}
    if article.status == Article.Status.ARCHIVED:
        return context
    in_review = article.status == Article.Status.IN_REVIEW
    if in_review:
        submitted = article.transitions.filter(action="submit").order_by("-at", "-pk").values("comment").first()
        context["submission_note"] = submitted["comment"] if submitted else ""
    missing = attribution.attribution_refusal(article, "approved" if in_review else "submitted or approved")
    approve = None
    if in_review and user.has_perm("articles.approve_article"):
        approve = workflow.refusal(article, user, "approve")
        if approve == missing:
            approve = None  # the attribution warning says it already
    return {
        **context,
        "attribution_warning": missing,
        "approve_refusal": approve,
        "renditions_pending": images.renditions_pending(article.image.name) if in_review else "",
    }


def transition_view(model_admin, request, object_id, action):
    """Confirm and fire one workflow step; a refusal keeps what was typed and says why."""
    article = _article(model_admin, request, object_id)
    if action not in workflow.ACTIONS:
        raise Http404("No such workflow step.")
    step = workflow.ACTIONS[action]
    form = TransitionForm(request.POST if request.method == "POST" else None, action=step, article=article)
    next_url = _next_url(request)
    if request.method == "POST" and form.is_valid():
        try:
            workflow.TRANSITIONS[action](article=article, user=request.user, **form.transition_kwargs())
        except workflow.WorkflowError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"{step.label}: done. “{article.title}” is now {article.status_label().lower()}.")
            return HttpResponseRedirect(next_url or _change_url(article))
    return TemplateResponse(
        request,
        "admin/articles/article/transition.html",
        _context(
            model_admin,
            request,
            article,
            title=f"{step.label}: {article.title}",
            form=form,
            step=step,
            next_url=next_url,
            cancel_url=next_url or _change_url(article),
        ),
    )


def preview_view(model_admin, request, object_id):
    """The working copy in the public template, for editors and moderators."""
    article = _article(model_admin, request, object_id)
    return render_preview(
        request, working_copy(article.pk), banner="Preview of the working copy: readers do not see this version yet."
    )


def share_view(model_admin, request, object_id):
    """Make a signed, expiring link that lets someone without an account read the draft."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    article = _article(model_admin, request, object_id)
    if article.status == Article.Status.ARCHIVED:  # its links are refused (articles.previews)
        messages.error(
            request,
            f"“{article.title}” is archived, so a share link would not work; reopen it as a draft to share a preview.",
        )
        return HttpResponseRedirect(_change_url(article))
    link = request.build_absolute_uri(preview_url(article))
    messages.success(request, f"Share preview link (read-only, expires): {link}")
    return HttpResponseRedirect(_change_url(article))


def share_revoke_view(model_admin, request, object_id):
    """End every share-preview link issued for the story so far; new ones can be made after."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    article = _article(model_admin, request, object_id)
    share_links_revoke(article=article, user=request.user)
    messages.success(
        request, f"Share links revoked: every preview link issued for “{article.title}” so far no longer works."
    )
    return HttpResponseRedirect(_change_url(article))


def history_view(model_admin, request, object_id):
    """The timeline: every save (revision) and every workflow step, newest first."""
    article = _article(model_admin, request, object_id)
    revisions = list(article.revisions.select_related("created_by").defer("data"))
    transitions = list(article.transitions.select_related("user"))
    events = sorted(
        [("revision", r.created_at, r) for r in revisions] + [("transition", t.at, t) for t in transitions],
        key=lambda event: event[1],
        reverse=True,
    )
    return TemplateResponse(
        request,
        "admin/articles/article/timeline.html",
        _context(
            model_admin,
            request,
            article,
            title=f"History: {article.title}",
            events=events,
            approved=publications.approved(article.pk),
            can_restore=workflow.can_edit(article, request.user),
        ),
    )


def diff_view(model_admin, request, object_id, number):
    """A revision compared with the working copy (default: what changed since it), or with the
    live version (`?against=live`: what approving it would change for readers)."""
    article = _article(model_admin, request, object_id)
    revision = get_object_or_404(Revision, article=article, number=number)
    against = request.GET.get("against", "working")
    if against == "live":
        approved = publications.approved(article.pk)
        if approved is None:
            raise Http404("This story has no live version.")
        old, new = approved.revision.data, revision.data
        old_label, new_label = f"the live version (#{approved.revision.number})", f"revision #{revision.number}"
        title = f"Revision #{revision.number} against the live version"
    else:
        old, new = revision.data, article_snapshot(article)
        old_label, new_label = f"revision #{revision.number}", "the working copy"
        title = f"Revision #{revision.number} against the working copy"
    return TemplateResponse(
        request,
        "admin/articles/article/diff.html",
        _context(
            model_admin,
            request,
            article,
            title=title,
            revision=revision,
            old_label=old_label,
            new_label=new_label,
            against=against,
            lines=snapshot_diff(old, new),
            can_restore=workflow.can_edit(article, request.user),
        ),
    )


def restore_view(model_admin, request, object_id, number):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    article = _article(model_admin, request, object_id)
    revision = get_object_or_404(Revision, article=article, number=number)
    try:
        workflow.article_restore(article=article, revision=revision, user=request.user)
    except workflow.WorkflowError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Revision #{number} restored into the working copy.")
    return HttpResponseRedirect(_change_url(article))


def review_queue_view(model_admin, request):
    """Stories waiting for review, oldest submission first, each with what this moderator may
    do to it, or why not (the four-eyes rule): read in a fixed number of queries."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    waiting = list(
        Article.objects.filter(status=Article.Status.IN_REVIEW)
        .select_related("submitted_by", "desk", "source")
        .annotate(
            has_live_version=Exists(Publication.objects.current_or_scheduled().filter(article=OuterRef("pk"))),
            latest_revision=Subquery(Revision.objects.filter(article=OuterRef("pk")).values("number")[:1]),
            submission_note=_submission_notes(),
            **workflow.last_change_annotations(),
        )
        .order_by("submitted_at", "pk")
    )
    user = request.user
    may_review = user.has_perm("articles.approve_article")
    for article in waiting:
        article.approve_refusal = workflow.refusal(article, user, "approve") if may_review else None
        article.may_request_changes = may_review and workflow.refusal(article, user, "request-changes") is None
    return TemplateResponse(
        request,
        "admin/articles/article/review_queue.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": Article._meta,
            "title": "Review queue",
            "waiting": waiting,
            "may_review": may_review,
            "queue_url": request.get_full_path(),
        },
    )
