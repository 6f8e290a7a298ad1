"""Widgets of the story form: one-line inputs for labels and points, paragraph boxes that
count words, the hero image with its thumbnail, and the source's attribution panel."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

# Inputs whose words the story form's word count adds up (static/js/story-form.js).
WORDS = {"data-words": "true"}


class OneLineInput(forms.TextInput):
    """A label or a point: one line, the width of its column."""

    def __init__(self, attrs=None, *, words: bool = False):
        super().__init__({"class": "vTextField one-line", **(WORDS if words else {}), **(attrs or {})})


class ParagraphsInput(forms.Textarea):
    """Where paragraphs go (the lede, a section's body): grows with its text, counts its words."""

    def __init__(self, attrs=None):
        super().__init__({"rows": 4, "cols": 80, "class": "vLargeTextField paragraphs", **WORDS, **(attrs or {})})


class NamedAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete picker with a placeholder: an empty picker is named by it
    (select2's box otherwise has no accessible name) and says what to choose."""

    def __init__(self, *args, placeholder: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.placeholder = placeholder

    def build_attrs(self, base_attrs, extra_attrs=None):
        return {**super().build_attrs(base_attrs, extra_attrs), "data-placeholder": self.placeholder}


class HeroImageInput(forms.ClearableFileInput):
    """The hero image: the stored image (or the upload kept from a refused try) as a thumbnail,
    then the file input. A kept upload travels as a signed token in a hidden input."""

    # Set by the form when it keeps an upload for the next try: (token, url).
    pending: tuple[str, str] | None = None

    def pending_name(self, name: str) -> str:
        return f"{name}-pending"

    def render(self, name, value, attrs=None, renderer=None):
        control = super().render(name, value, attrs, renderer)
        if self.pending:
            token, url = self.pending
            return format_html(
                '<div class="hero-image">{}<input type="hidden" name="{}" value="{}">{}</div>',
                _thumbnail(url, "The image you chose, kept from your last try: it is saved with the story."),
                self.pending_name(name),
                token,
                control,
            )
        url = getattr(value, "url", None) if self.is_initial(value) else None
        thumbnail = _thumbnail(url, "The hero image now.") if url else _thumbnail("", "")
        return format_html('<div class="hero-image">{}{}</div>', thumbnail, control)


# Filled by the page's script with a chosen file (a constant: nothing from a user in it).
EMPTY_PREVIEW = mark_safe(
    '<figure class="hero-image__preview" hidden><img class="hero-image__thumb" alt="">'
    "<figcaption>The image you chose (not saved yet).</figcaption></figure>"
)


def _thumbnail(url: str, caption: str) -> str:
    """A scaled preview; an empty one (hidden by CSS) is filled by the page's script on choosing a file."""
    if not url:
        return EMPTY_PREVIEW
    return format_html(
        '<figure class="hero-image__preview"><img class="hero-image__thumb" src="{}" alt="Hero image thumbnail">'
        "<figcaption>{}</figcaption></figure>",
        url,
        caption,
    )


def source_panel(source) -> str:
    """The chosen source's site and credit condition, as readers will see them (filled in again
    by the page's script when another source is picked)."""
    return format_html(
        '<div class="source-attribution" id="source-attribution-panel" aria-live="polite">{}</div>',
        source_panel_lines(source),
    )


def source_panel_lines(source) -> str:
    if source is None:
        return format_html("<p>{}</p>", "Pick the source this story comes from: readers see its name and credit.")
    rows = [
        ("Site", source.site or "(none given)"),
        ("Credit readers will see", source.credit or "(none: add one to the source before submitting)"),
    ]
    return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))
