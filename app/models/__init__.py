"""All tables; importing this package registers them on db.metadata."""

import importlib

from app.models.bank import Item, ItemSource, ItemVersion, Note, Topic, item_topics
from app.models.jobs import Job
from app.models.users import User

__all__ = ["Item", "ItemSource", "ItemVersion", "Job", "Note", "Topic", "User", "item_topics"]

# Feature modules add their own tables when present.
for _name in ("practice", "classes", "assignments", "sandbox"):
    try:
        importlib.import_module(f"app.models.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"app.models.{_name}":
            raise
