"""Statistical disclosure control for published indicator tables (tourism.md §4, DESIGN §8)."""

from hub.disclosure.protect import (GEO, PUBLISHED, STARS, SUPPRESSED, UNIT, Protected, TableSpec, all_parent,
                                    geo_parent, protect)
from hub.disclosure.rules import DOMINANCE, FREQUENCY, LINKED, PERSONS, SECONDARY, Rules, primary_reasons
from hub.disclosure.suppression import Dimension, Pattern, Relation, build_relations, derivable, secondary

__all__ = ["GEO", "UNIT", "STARS", "PUBLISHED", "SUPPRESSED", "Protected", "TableSpec", "all_parent", "geo_parent",
           "protect", "DOMINANCE", "FREQUENCY", "LINKED", "PERSONS", "SECONDARY", "Rules", "primary_reasons",
           "Dimension", "Pattern", "Relation", "build_relations", "derivable", "secondary"]
