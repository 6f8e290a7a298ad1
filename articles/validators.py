"""Field validators shared by the models, the admin forms and the importer."""

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# C0 and C1 control characters (CR, LF and TAB included): a one-line field holding one
# breaks e-mail headers, feed titles and the story format's line structure.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A host name: dot-separated labels of letters, digits and inner hyphens (IDNA already
# applied, or Unicode letters), optionally with a port. No scheme, path, user or '@'.
_LABEL = r"(?!-)[0-9A-Za-z\u00a1-\uffff-]{1,63}(?<!-)"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?(?::\d{{1,5}})?$")


@deconstructible
class NoControlCharacters:
    """Refuses line breaks, tabs and other control characters in a one-line field."""

    message = "Remove the line break or control character ({found}) at character {position}: this field is one line."
    code = "control_character"

    def __call__(self, value):
        match = _CONTROL.search(value or "")
        if match:
            found = {"\n": "line feed", "\r": "carriage return", "\t": "tab"}.get(match.group(), repr(match.group()))
            # Formatted here, without params: Django would %-format the message with them,
            # and the message must not be re-read as a format string.
            raise ValidationError(self.message.format(found=found, position=match.start() + 1), code=self.code)

    def __eq__(self, other):
        return isinstance(other, NoControlCharacters)


no_control_characters = NoControlCharacters()


def control_character_error(value: str) -> str | None:
    """The message `no_control_characters` would give for `value`, or None (for the importer)."""
    try:
        no_control_characters(value)
    except ValidationError as error:
        return error.messages[0]
    return None


@deconstructible
class HostName:
    """A web site given as a host name (www.example.com), never a URL or an address with '@'."""

    message = "Give the site as a host name such as www.example.com: no scheme, path, spaces or '@' (got {value!r})."
    code = "host_name"

    def __call__(self, value):
        if value and not is_host_name(value):
            raise ValidationError(self.message.format(value=value[:100]), code=self.code)

    def __eq__(self, other):
        return isinstance(other, HostName)


host_name = HostName()


def is_host_name(value: str) -> bool:
    return bool(value) and len(value) <= 253 and "." in value.strip(".") and bool(_HOST.match(value))


def host_name_error(value: str) -> str | None:
    """Why a source site from a story file is not a host name, or None when it is (or is empty)."""
    if not value or is_host_name(value):
        return None
    return f"the source site {value!r} is not a host name such as www.example.com (no scheme, path, spaces or '@')"
