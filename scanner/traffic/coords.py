"""Coordinates sent as two separate values: ``lat=``/``lng=`` query parameters, ``latitude``/
``longitude`` form fields, ``x``/``y`` keys inside a location object, E6/E7 integers.

The decoder calls :func:`pair_in` on every key/value container it reads (a JSON object only when
:func:`may_hold_pair` says its keys can name a coordinate; a form, query string, XML element or
protobuf message always) and adds the pair it finds as one synthetic ``lat,lon`` field, which the
location detectors then read like a ``"39.98,116.30"`` string.
"""

from __future__ import annotations

import re

_LAT_KEYS = frozenset({"lat", "latitude", "la", "wd", "lati", "gps_lat", "gpslat", "mlat", "user_lat", "cur_lat",
                       "clat", "loc_lat", "location_lat"})
_LON_KEYS = frozenset({"lng", "lon", "longitude", "lo", "jd", "long", "gps_lng", "gps_lon", "gpslng", "gpslon", "mlng",
                       "user_lng", "user_lon", "cur_lng", "clng", "loc_lng", "loc_lon", "location_lng", "location_lon"})
_PAIR_KEYS = _LAT_KEYS | _LON_KEYS
#: x/y count as coordinates only inside a container whose name says it holds a position
_XY_CONTAINER = re.compile(r"loc|pos|gps|coord|geo|point|latlng|lnglat|where", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d{1,10}(?:\.\d+)?$")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def scaled(lat: float, lon: float) -> tuple[float, float] | None:
    """Degrees from degrees, E6 or E7 integers (a lat of 39983424 is 39.983424); ``None`` when
    the pair is not a coordinate, or is (0, 0)."""
    if abs(lat) > 90 or abs(lon) > 180:
        if lat != int(lat) or lon != int(lon):
            return None
        factor = 1e7 if abs(lat) >= 1e8 or abs(lon) >= 1e9 else 1e6
        lat, lon = lat / factor, lon / factor
    if abs(lat) > 90 or abs(lon) > 180 or (abs(lat) < 0.01 and abs(lon) < 0.01):
        return None
    return round(lat, 7), round(lon, 7)


#: :func:`may_hold_pair`'s answers for small key sets (the objects of a batch mostly share their
#: keys); looked up directly by the JSON walk, so that a known key set costs no call
KNOWN_KEY_SETS: dict[tuple[str, ...], bool] = {}
_KNOWN_MAX = 4096


def may_hold_pair(keys: tuple[str, ...]) -> bool:
    """Whether :func:`pair_in` can find a pair in a container with these keys: a cheap test,
    remembered in :data:`KNOWN_KEY_SETS` only for small key sets (32 keys, 1,024 characters) and
    at most 4,096 of them, so that hostile many-keyed objects cannot fill memory."""
    answer = ("x" in keys and "y" in keys) or not _PAIR_KEYS.isdisjoint(map(str.lower, keys))
    if len(keys) <= 32 and sum(map(len, keys)) <= 1024:
        if len(KNOWN_KEY_SETS) >= _KNOWN_MAX:
            KNOWN_KEY_SETS.clear()
        KNOWN_KEY_SETS[keys] = answer
    return answer


def pair_in(container: str, items: dict[str, object]) -> tuple[str, str, float, float] | None:
    """(lat key, lon key, lat, lon) when a container's keys hold a coordinate pair."""
    lat_key = lon_key = None
    for key in items:
        low = key.lower()
        if low in _LAT_KEYS and lat_key is None:
            lat_key = key
        elif low in _LON_KEYS and lon_key is None:
            lon_key = key
    if (lat_key is None or lon_key is None) and "x" in items and "y" in items and _XY_CONTAINER.search(container):
        lat_key, lon_key = "y", "x"
    if lat_key is None or lon_key is None:
        return None
    lat, lon = _number(items[lat_key]), _number(items[lon_key])
    if lat is None or lon is None:
        return None
    pair = scaled(lat, lon)
    if pair is None:
        return None
    return lat_key, lon_key, pair[0], pair[1]
