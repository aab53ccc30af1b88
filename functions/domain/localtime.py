"""Times as a home reads them: in the home's own time zone (the registry's home copy,
`Home.timezone`), with the zone's abbreviation. The one formatter that notifications, the
appliance's status display and tickets use, so no text shows a UTC time without saying so,
or a bare time in some other zone.

A zone name the tz database does not know falls back to UTC, named as such.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.orders import TimeWindow


def home_zone(name: str | None) -> tzinfo:
    """The zone called `name`, or UTC when it is missing or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _abbreviation(moment: datetime) -> str:
    return moment.tzname() or "UTC"


def local_time(moment: datetime, zone: str | None) -> str:
    """'Thu 03 Dec 07:00 CET': the moment in the home's zone."""
    here = moment.astimezone(home_zone(zone))
    return f"{here:%a %d %b %H:%M} {_abbreviation(here)}"


def local_window(window: TimeWindow, zone: str | None) -> str:
    """'Thu 03 Dec 07:00-09:00 CET' (the end's abbreviation too when a DST change splits it)."""
    tz = home_zone(zone)
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    first, last = _abbreviation(start), _abbreviation(end)
    end_text = f"{end:%a %d %b %H:%M}" if start.date() != end.date() else f"{end:%H:%M}"
    if first == last:
        return f"{start:%a %d %b %H:%M}-{end_text} {last}"
    return f"{start:%a %d %b %H:%M} {first}-{end_text} {last}"


__all__ = ["home_zone", "local_time", "local_window"]
