"""The base of every contract model.

A pydantic model builds its validator and serializer when its class is created, which is
most of what importing the schemas costs, and every handler imports them on its cold start.
Deferred (`defer_build`), a model builds them on first use instead; on Lambda the SnapStart
hook builds every model the function imported before the snapshot is taken
(functions.common.snapstart), so a restored environment starts with them built.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    model_config = ConfigDict(defer_build=True)
