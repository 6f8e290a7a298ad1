"""Forms for the editors' screens: the story form with its edit-conflict check, and the
form behind each workflow button."""

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from articles import workflow
from articles.models import Article, Publication, SlugRedirect, Source
from articles.uploads import HeroImageField, clean_hero_image, keep_pending, pending_url, take_pending
from articles.widgets import HeroImageInput, ParagraphsInput


class ArticleAdminForm(forms.ModelForm):
    """The story's own fields, plus the version the editor started from; a checked hero image
    upload is kept for the next try when the rest of the form is refused."""

    # The version the editor opened; compared with the stored one on save.
    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # Who is editing: set by ArticleAdmin.get_form on the class it builds for one request.
    user = None

    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007 - the admin form: its fieldsets choose what is shown
        field_classes = {"image": HeroImageField}
        widgets = {"image": HeroImageInput, "lede": ParagraphsInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opened_version"].initial = self.instance.version
        # The stored name of a kept upload this form used (removed once the story is saved).
        self.used_pending = None
        if "image" in self.fields:
            self.fields["image"].widget.attrs.setdefault("aria-label", "Hero image file")

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and hasattr(image, "content_type"):  # a new upload, not the stored file
            return clean_hero_image(image)
        token = self.data.get(self.fields["image"].widget.pending_name(self.add_prefix("image")))
        if token and image is not False:  # an upload kept from the last try, unless "Clear" was ticked
            image, self.used_pending = take_pending(token, self.user)
            self._pending_token = token
        return image

    def keep_image_for_retry(self) -> None:
        """When the form is refused, keep a new upload that passed its checks, so that the
        next try saves it without choosing the file again."""
        image = getattr(self, "cleaned_data", {}).get("image")
        if self.user is None or "image" in self.errors or not hasattr(image, "content_type"):
            return
        widget = self.fields["image"].widget
        if self.used_pending:  # the same kept upload again
            widget.pending = (self._pending_token, pending_url(self.used_pending))
        else:
            widget.pending = keep_pending(image, self.user)

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        # Held now or later by another story's publication, or an old address that redirects to one.
        held = Publication.objects.current_or_scheduled().filter(slug=slug).exclude(article_id=self.instance.pk)
        if held.exists() or SlugRedirect.objects.filter(old_slug=slug).exclude(article_id=self.instance.pk).exists():
            raise forms.ValidationError("This address is (or was) used by another published story; choose another.")
        return slug

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            version = self.cleaned_data.get("opened_version")
            try:
                # Locks the row until the admin's transaction ends: two saves cannot both pass.
                workflow.check_version(self.instance, version if version is not None else -1)
            except workflow.EditConflict as conflict:
                raise forms.ValidationError(conflict.message, code="edit_conflict") from None
        return cleaned


class SourceAdminForm(forms.ModelForm):
    """A source: its credit condition cannot be removed while stories in review or on the
    site depend on it (they could not be approved again without one)."""

    class Meta:
        model = Source
        fields = ["name", "site", "credit"]

    def clean_credit(self):
        credit = self.cleaned_data["credit"].strip()
        if credit or self.instance.pk is None or not self.instance.credit:
            return credit
        depending = (
            Article.objects.filter(source=self.instance)
            .filter(
                Q(status=Article.Status.IN_REVIEW)
                | Exists(Publication.objects.current_or_scheduled().filter(article=OuterRef("pk")))
            )
            .order_by("title")
            .values_list("title", flat=True)
        )
        titles = list(depending[:6])
        if titles:
            named = ", ".join(f"“{title}”" for title in titles[:5]) + (" and more" if len(titles) > 5 else "")
            raise forms.ValidationError(
                f"The credit condition cannot be removed while stories in review or on the site use this source "
                f"({named}): readers must see a credit with each of them. Change it instead, or move those "
                "stories to another source first.",
                code="credit_needed",
            )
        return credit


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class TransitionForm(forms.Form):
    """Confirms one workflow step, with the comment, times or change note it needs."""

    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    note = forms.CharField(
        label="Note for the moderator",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: what changed, what to check. The moderator sees it in the review queue.",
    )
    go_live_at = forms.DateTimeField(
        label="Go live at",
        required=False,
        widget=LocalDateTimeInput(),
        help_text=f"Leave empty to publish now. Server time zone: {timezone.get_current_timezone_name()}.",
    )
    expires_at = forms.DateTimeField(
        label="Expire at", required=False, widget=LocalDateTimeInput(), help_text="Optional: taken off the site then."
    )
    change_kind = forms.ChoiceField(
        label="What kind of change is this?",
        choices=workflow.ChangeKind.CHOICES,
        initial=workflow.ChangeKind.MINOR,
        widget=forms.RadioSelect,
    )
    change_note = forms.CharField(
        label="Note for readers",
        required=False,
        max_length=500,
        help_text="Shown, dated, on the story for updates and corrections.",
    )

    def __init__(self, *args, action: workflow.Action, article: Article, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        if action.name == "request-changes":
            self.fields["comment"].label = "What should the editor change?"
            self.fields["comment"].required = True
        elif action.name == "unpublish":
            self.fields["comment"].label = "Reason for unpublishing"
            self.fields["comment"].required = True
        else:
            del self.fields["comment"]
        if action.name != "submit":
            del self.fields["note"]
        if action.name != "approve":
            for name in ("go_live_at", "expires_at", "change_kind", "change_note"):
                del self.fields[name]
        elif not Publication.objects.filter(article=article).exists():  # a first publication is not an update
            del self.fields["change_kind"]
            del self.fields["change_note"]

    def transition_kwargs(self) -> dict:
        data = self.cleaned_data
        if self.action.name in ("request-changes",):
            return {"comment": data["comment"]}
        if self.action.name == "unpublish":
            return {"reason": data["comment"]}
        if self.action.name == "submit":
            return {"note": data.get("note", "")}
        if self.action.name == "approve":
            kwargs = {"go_live_at": data.get("go_live_at"), "expires_at": data.get("expires_at")}
            if "change_kind" in data:
                kwargs.update(change_kind=data["change_kind"], change_note=data.get("change_note", ""))
            return kwargs
        return {}
