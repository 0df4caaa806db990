"""Calibration targets for the synthetic campsite export (tourism.md §5.3; [S] sourced, [A] assumed there).

Everything the generator is tuned on lives here, so the tests can compare its output with the same numbers.
"""

from __future__ import annotations

__all__ = ["OCCUPANCY_BY_MONTH", "STARS_OCCUPANCY", "LOCATIF_FACTOR", "FOREIGN", "OTHER_MARKETS", "STAY_PMF",
           "LEAD_TIME", "CANCEL_BY_CHANNEL", "CHANNELS", "PERSONS", "SIZE_MEDIAN", "SIZE_SIGMA", "LOCATIF_SHARE",
           "UNIT_TYPES", "PARTICIPATION", "BARE_SPLIT", "LOCATIF_SPLIT", "OPENING", "CLOSING", "GROWTH", "RESIDENTIAL_SHARE",
           "WALK_IN_BARE", "SATURDAY_SHARE", "JULY_AUGUST_SHARE", "FOREIGN_LOCATIF_RATIO"]

# National unit occupancy of open campsites by month (April..September) [A anchored on S].
OCCUPANCY_BY_MONTH = {4: 0.15, 5: 0.22, 6: 0.30, 7: 0.55, 8: 0.63, 9: 0.25}
# July + August share of season nights: 70–75 % [S/D]; the tests accept 68–76 %.
JULY_AUGUST_SHARE = (0.68, 0.76)
# Relative occupancy by stars (2008 ordering: 25, 28, 34, 43, ~48 %) and by unit class (locatif +10–20 pts).
STARS_OCCUPANCY = {1: 25.2, 2: 27.8, 3: 34.2, 4: 42.7, 5: 48.0}
LOCATIF_FACTOR = {"bare": 0.88, "locatif": 1.20}

UNIT_TYPES = ("PITCH_BARE", "PITCH_SERVICED", "MOBILHOME", "CHALET", "TENT_EQUIPPED", "OTHER")
BARE_SPLIT = {"PITCH_BARE": 0.45, "PITCH_SERVICED": 0.55}
LOCATIF_SPLIT = {"MOBILHOME": 0.80, "CHALET": 0.08, "TENT_EQUIPPED": 0.12}
# Share of units that are locatif, by stars (35 % nationally; 10–20 % in 1–2★, 50–70 % in 4–5★) [S/A].
LOCATIF_SHARE = {1: 0.12, 2: 0.18, 3: 0.33, 4: 0.52, 5: 0.62}
# Size (pitches) lognormal by stars: medians of the classified list [D].
SIZE_MEDIAN = {1: 50, 2: 63, 3: 88, 4: 163, 5: 314}
SIZE_SIGMA = 0.55
# Relative chance that a classified campsite takes part, by stars (participants are PMS users, skewed to 3–5★).
PARTICIPATION = {1: 0.6, 2: 0.8, 3: 1.0, 4: 1.25, 5: 1.25}

# Opening and closing (month, day) choices with probabilities, by stars [S/A: 4–5★ Apr→Sep, 1–2★ Jun→Sep].
OPENING = {
    5: [((4, 1), 0.75), ((4, 15), 0.25)],
    4: [((4, 1), 0.40), ((4, 20), 0.10), ((5, 15), 0.10), ((6, 20), 0.40)],
    3: [((4, 10), 0.12), ((5, 1), 0.08), ((6, 1), 0.15), ((7, 1), 0.65)],
    2: [((5, 1), 0.05), ((6, 1), 0.20), ((7, 1), 0.75)],
    1: [((6, 1), 0.20), ((7, 1), 0.80)],
}
CLOSING = {
    5: [((9, 30), 0.60), ((9, 20), 0.40)],
    4: [((9, 30), 0.25), ((9, 15), 0.35), ((9, 5), 0.40)],
    3: [((9, 20), 0.30), ((9, 10), 0.35), ((8, 31), 0.35)],
    2: [((9, 15), 0.35), ((8, 31), 0.65)],
    1: [((9, 10), 0.30), ((8, 31), 0.70)],
}

# Nights per booking: {segment: [(nights, probability), ...]} [A calibrated on S means].
def _spread(lo: int, hi: int, p: float) -> list[tuple[int, float]]:
    return [(n, p / (hi - lo + 1)) for n in range(lo, hi + 1)]


STAY_PMF = {
    "locatif_summer": [(1, 0.01), (2, 0.02), *_spread(3, 6, 0.22), (7, 0.50), *_spread(8, 13, 0.10), (14, 0.10),
                       *_spread(15, 21, 0.05)],
    "locatif_shoulder": [*_spread(2, 3, 0.45), *_spread(4, 6, 0.25), (7, 0.25), *_spread(8, 14, 0.05)],
    "bare": [(1, 0.20), (2, 0.15), (3, 0.12), *_spread(4, 6, 0.20), (7, 0.13), *_spread(8, 14, 0.13),
             *_spread(15, 21, 0.05), *_spread(22, 28, 0.02)],
}
SATURDAY_SHARE = 0.70  # locatif summer arrivals on Saturday

# Lead time (days): (median, P(<= 7 d), P(> 180 d)) by segment [A]; a last-minute part plus a lognormal.
LEAD_TIME = {
    "locatif_summer_fr": (75, 0.08, 0.12),
    "locatif_summer_foreign": (120, 0.04, 0.25),
    "locatif_shoulder": (30, 0.20, 0.03),
    "bare_summer": (25, 0.35, 0.05),
    "bare_shoulder": (7, 0.50, 0.01),
}
WALK_IN_BARE = 0.15  # lead 0, created on arrival [A: 10–20 %]

CHANNELS = {"DIRECT": 0.55, "OTA": 0.30, "TOUR_OPERATOR": 0.10, "OTHER": 0.05}
CANCEL_BY_CHANNEL = {"DIRECT": 0.07, "OTA": 0.15, "TOUR_OPERATOR": 0.09, "OTHER": 0.07}  # [A] 6–10 %, OTA 12–18 %

PERSONS = {2: 0.40, 3: 0.15, 4: 0.30, 5: 0.10, 6: 0.05}  # mean ≈ 3 [A]

# Foreign share of camp nights and main foreign markets, by région (COG code) [S where cited, A otherwise].
FOREIGN = {
    "44": (0.55, ["NL", "DE", "BE", "CH", "GB"]),
    "27": (0.55, ["NL", "DE", "BE", "CH", "GB"]),
    "24": (0.40, ["NL", "GB", "DE", "BE", "ES"]),
    "32": (0.30, ["BE", "NL", "GB", "DE", "CH"]),
    "28": (0.30, ["GB", "NL", "BE", "DE", "CH"]),
    "53": (0.20, ["GB", "DE", "NL", "BE", "CH"]),
    "52": (0.20, ["GB", "NL", "DE", "BE", "CH"]),
    "75": (0.30, ["NL", "GB", "DE", "BE", "ES"]),
    "76": (0.29, ["NL", "DE", "BE", "ES", "GB"]),
    "84": (0.30, ["NL", "DE", "BE", "CH", "GB"]),
    "93": (0.30, ["DE", "NL", "CH", "IT", "BE"]),
    "94": (0.35, ["DE", "IT", "CH", "NL", "BE"]),
    "11": (0.50, ["GB", "NL", "DE", "ES", "US"]),
    "04": (0.20, ["DE", "CH", "BE", "GB", "IT"]),
}
MARKET_WEIGHTS = (0.40, 0.25, 0.15, 0.10, 0.05)
OTHER_MARKETS = ["IT", "ES", "DK", "CH", "SE", "PL", "AT", "CZ", "IE", "LU", "NO", "US"]  # the remaining 5 %
FOREIGN_LOCATIF_RATIO = 0.6  # foreign share of locatif nights ÷ of bare nights (37 % vs 59 % in locatif, 2017 [S])

GROWTH = 1.03  # season N over N-1 (nights +3 %, so pace is visible)
RESIDENTIAL_SHARE = 0.03  # of locatif units held by annual/seasonal residents (excluded from capacity)
