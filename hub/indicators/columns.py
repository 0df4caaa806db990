"""Column names of the weekly export (tourism.md §5.2) and the groupings the barometer publishes by.

The names are those of the collection schema; the indicator code refers to them only through this module, so a
renamed column is changed in one place.
"""

from __future__ import annotations

# Bookings fact: one row per booking × stay-night (cancelled bookings keep their nights with status CANCELLED).
BOOKING_COLUMNS: dict[str, str] = {
    "snapshot_date": "date",
    "campsite_pid": "string",
    "dep_code": "string",
    "booking_pid": "string",
    "booking_date": "date",
    "status": "string",
    "cancel_date": "date",
    "arrival_date": "date",
    "departure_date": "date",
    "stay_date": "date",
    "nights": "int16",
    "unit_type": "string",
    "adults": "int8",
    "children": "int8",
    "country_code": "string",
    "channel": "string",
    "amount_eur": "decimal",
    "residential": "boolean",
}

# Capacity: one row per snapshot × campsite × date × unit type.
CAPACITY_COLUMNS: dict[str, str] = {
    "snapshot_date": "date",
    "campsite_pid": "string",
    "dep_code": "string",
    "date": "date",
    "unit_type": "string",
    "units_available": "int32",
    "is_open": "boolean",
}

# Campsite dimension (optional input): gives the stars band.
CAMPSITE_COLUMNS: dict[str, str] = {
    "campsite_pid": "string",
    "dep_code": "string",
    "stars_band": "string",
    "size_band": "string",
    "opening_date": "date",
    "closing_date": "date",
}

# Columns the indicators actually read (the others may be absent from an input file).
BOOKING_REQUIRED = ("snapshot_date", "campsite_pid", "dep_code", "booking_pid", "booking_date", "status",
                    "cancel_date", "arrival_date", "stay_date", "nights", "unit_type", "adults", "children",
                    "country_code", "residential")
CAPACITY_REQUIRED = ("snapshot_date", "campsite_pid", "dep_code", "date", "unit_type", "units_available", "is_open")
CAMPSITE_REQUIRED = ("campsite_pid", "stars_band")

STATUSES = ("CONFIRMED", "OPTION", "CANCELLED")

# Bare pitch vs rental ("emplacement nu" vs "locatif"), the split INSEE and the trade publish.
# A serviced pitch (electricity, water) is still a pitch the guest brings a shelter to; OTHER (insolite) is rented.
UNIT_GROUPS: dict[str, str] = {
    "PITCH_BARE": "PITCH",
    "PITCH_SERVICED": "PITCH",
    "MOBILHOME": "RENTAL",
    "CHALET": "RENTAL",
    "TENT_EQUIPPED": "RENTAL",
    "OTHER": "RENTAL",
}

ALL = "ALL"  # the total of a dimension (France for geography, every unit type, every stars band, every country)

# Lead-time buckets in days (tourism.md §1.3 #10): label, lower bound inclusive, upper bound inclusive (None = open).
LEAD_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("91-180", 91, 180), (">180", 181, None),
)
