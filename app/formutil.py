"""Small helpers shared by every feature's WTForms."""

from collections.abc import Iterable

from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select choices from (value, label) pairs (WTForms 3.3 deprecates bare tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip(value):
    """Strip surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (a multi-select needs Ctrl / ⌘, which phones do not have)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
