"""What each sustainable-tourism indicator is: label, pillar, definition, unit, formula, sources (tourism.md §3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Indicator", "INDICATORS", "PILLARS", "TABLES", "REQUIRED", "indicator_json"]

#: the columns each input of ``compute_sustainable`` must have; the hub also tells a landed input's kind by them
REQUIRED = {
    "energy": ("month", "establishment_pid", "dep_code", "ecolabel", "energy_kwh", "water_m3", "nights"),
    "employment": ("quarter_start", "dep_code", "jobs_accommodation_food", "jobs_total"),
    "arrivals": ("month", "reg_code", "country_code", "arrivals", "nights"),
    "trips": ("month", "reg_code", "transport_mode", "trips", "distance_km", "nights"),
}

PILLARS = {"economique": "Économique", "social": "Social", "environnemental": "Environnemental"}
TABLES = ("energy", "arrivals", "employment", "transport", "seasonality", "intensity")

_ENERGY_SRC = "Fédération des hébergeurs (démo) : consommations mensuelles par établissement, données SYNTHÉTIQUES"
_VISITS_SRC = "Statistiques de fréquentation (démo) : arrivées et nuitées par pays × région × mois, SYNTHÉTIQUES"
_EMPLOY_SRC = "Source emploi (démo) : emploi salarié NAF 55-56 et emploi total par département × trimestre, SYNTHÉTIQUE"


@dataclass(frozen=True)
class Indicator:
    id: str
    table: str
    column: str
    pillar: str
    label: str
    definition: str
    unit: str
    formula: str
    sources: tuple[str, ...]
    framework: str = ""


INDICATORS: tuple[Indicator, ...] = (
    Indicator("international_arrivals", "arrivals", "arrivals", "economique", "Arrivées internationales",
              "Arrivées de non-résidents dans les hébergements touristiques (par pays de résidence).", "arrivées",
              "Σ arrivées des non-résidents", (_VISITS_SRC,), "Atout France / EVE ; ODD 8.9"),
    Indicator("seasonality_index", "seasonality", "seasonality_index", "economique", "Indice de saisonnalité",
              "Nuitées du mois de pointe rapportées à la moyenne mensuelle de l'année ; part de juillet-août.",
              "ratio", "max_mois(nuitées) ÷ (Σ nuitées de l'année ÷ 12)", (_VISITS_SRC,), "ETIS B.1.1"),
    Indicator("employment_share", "employment", "employment_share_pct", "social",
              "Contribution à l'emploi", "Emploi salarié de l'hébergement et de la restauration (NAF 55-56) "
              "rapporté à l'emploi salarié total.", "%", "Σ emplois NAF 55-56 ÷ Σ emplois totaux × 100",
              (_EMPLOY_SRC,), "ETIS B.3.1 ; ODD 8.9.2"),
    Indicator("employment_seasonal_share", "employment", "seasonal_share_pct", "social", "Part saisonnière de "
              "l'emploi", "Écart entre le trimestre de pointe et le trimestre creux de l'emploi touristique, "
              "rapporté à la pointe.", "%", "(max_trim − min_trim) ÷ max_trim × 100", (_EMPLOY_SRC,), "ETIS B.3.2"),
    Indicator("tourism_intensity", "intensity", "nights_per_resident", "social", "Intensité touristique",
              "Nuitées (résidents et non-résidents) par habitant.", "nuitées par habitant",
              "Σ nuitées ÷ population légale", (_VISITS_SRC, "Insee, populations légales 2023 (Mayotte : 2017)"),
              "Eurostat ; ETIS C.1.1"),
    Indicator("energy_per_night", "energy", "energy_per_night_kwh", "environnemental", "Énergie par nuitée",
              "Énergie finale consommée par les hébergements rapportée aux nuitées de la même période.",
              "kWh par nuitée", "Σ kWh ÷ Σ nuitées", (_ENERGY_SRC,), "ETIS D.6.1 ; EMAS"),
    Indicator("energy_change", "energy", "energy_change_pct", "environnemental", "Évolution de l'énergie par "
              "nuitée", "Évolution de l'énergie par nuitée par rapport à la même période de l'année de "
              "référence.", "%", "(kWh/nuitée_t ÷ kWh/nuitée_réf − 1) × 100", (_ENERGY_SRC,), "décret tertiaire"),
    Indicator("water_per_night", "energy", "water_per_night_l", "environnemental", "Eau par nuitée",
              "Eau consommée par les hébergements rapportée aux nuitées.", "L par nuitée",
              "Σ m³ × 1000 ÷ Σ nuitées", (_ENERGY_SRC,), "ETIS D.5.1"),
    Indicator("ecolabel_share", "energy", "ecolabel_share_pct", "environnemental", "Nuitées en établissements "
              "écolabellisés", "Part des nuitées passées dans un établissement titulaire d'un écolabel reconnu.",
              "%", "Σ nuitées écolabellisées ÷ Σ nuitées × 100", (_ENERGY_SRC,), "ETIS A.1.1 (en nuitées)"),
    Indicator("transport_co2_per_trip", "transport", "co2_per_trip_kg", "environnemental",
              "Empreinte carbone du transport par séjour", "Émissions du transport aller-retour des séjours : "
              "distance × facteur d'émission du mode, par séjour.", "kgCO2e par séjour",
              "Σ km × FE(mode) ÷ Σ séjours", (_VISITS_SRC, "Facteurs d'émission indicatifs de type ADEME "
                                              "(hub/reference, à remplacer par la Base Empreinte)"), "ETIS D.1"),
    Indicator("transport_co2_per_night", "transport", "co2_per_night_kg", "environnemental",
              "Empreinte carbone du transport par nuitée", "Émissions du transport des séjours rapportées aux "
              "nuitées de ces séjours.", "kgCO2e par nuitée", "Σ km × FE(mode) ÷ Σ nuitées",
              (_VISITS_SRC, "Facteurs d'émission indicatifs de type ADEME (hub/reference)"), "ADEME BEGES"),
)


def indicator_json(ind: Indicator) -> dict:
    d = asdict(ind)
    d["sources"] = list(ind.sources)
    d["pillar_label"] = PILLARS[ind.pillar]
    return d
