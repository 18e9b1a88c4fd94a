"""Plumbing shared by every qunbus service: declare handlers on a `QunService`, get a `Context` per event."""

from services.shared.commands import Bilingual
from services.shared.context import AppContext, Clock, Context
from services.shared.intents import Intent
from services.shared.runtime import Runtime
from services.shared.service import QunService
from services.shared.settings import QunSettings

__all__ = ["AppContext", "Bilingual", "Clock", "Context", "Intent", "QunService", "QunSettings", "Runtime"]
