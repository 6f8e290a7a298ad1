"""Read an HTML form's fields the way a browser would submit them, for admin tests."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_multiple = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name, value):
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.in_form = True
        if not self.in_form or a.get("disabled") is not None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._add(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select, self._select_multiple = name, "multiple" in a
            self.fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_fields(html: str, form_id: str) -> dict[str, str]:
    """The form's successful controls as {name: value} (the last value wins, as Django reads it)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    return {name: values[-1] if values else "" for name, values in reader.fields.items()}
