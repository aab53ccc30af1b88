"""The topic names devices use, owned by the cloud side (functions.common.topics).

Device code imports them from there; this module keeps the old import path working.
"""

from functions.common.topics import FAULT_TOPIC_FILTER, fault_topic, status_topic

__all__ = ["FAULT_TOPIC_FILTER", "fault_topic", "status_topic"]
