"""The escalation ladder the dispatcher service climbs unless told otherwise, and its timeouts.

Apart from the runtime so that `alertsim dispatch --help` can show the defaults without
importing it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_TIMEOUT_S", "DIRECT_LADDER"]

DIRECT_LADDER: Final = ("app_push", "sms", "voice_call")
DEFAULT_TIMEOUT_S: Final = (60.0, 60.0, 120.0)
