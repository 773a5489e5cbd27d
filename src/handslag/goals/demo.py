"""Content of the example partnership "Handslag Bergsjön (exempel)" (``handslag demo``).

Everything here is **example data** so that a new user sees a filled dashboard at once:

* The four goals (575 more people employed, 75 new companies, 125 more pupils eligible for upper
  secondary school, 1,000 summer jobs, by 2025) come from a column by the CEO of Familjebostäder
  (seed article ``000``); methods.md §7 notes that these figures were **not found in public sources**,
  so they are marked as example figures.
* Familjebostäder offered 252 summer jobs in Bergsjön in 2022 according to vartgoteborg.se (a
  secondary source, methods.md §7); it is used as an activity output.
* All measurements of partner-reported goals, budgets, costs and contributions are invented.
* The employment goal is statistic-linked: its actuals come from the SCB statistics in the store
  (employment rate 20–64 × population 20–64 over Bergsjön's DeSO), when they have been imported.

Bergsjön's areas are the DeSO 2025 whose RegSO 2025 name starts with "Bergsjön"; the list below (from
SCB's DeSO 2025 layer in ``shared/data/geometry``) is used when the store has no areas yet.
"""

from __future__ import annotations

DEMO_NAME = "Handslag Bergsjön (exempel)"
EXAMPLE_USER = "exempel"
EXAMPLE_APPROVER = "exempel-styrgrupp"

EXAMPLE_NOTE = ("EXEMPELDATA. Målen (575/75/125/1 000 till 2025) kommer från en krönika av Familjebostäders vd och "
                "har inte kunnat beläggas i offentliga källor (methods.md §7); övriga siffror är påhittade exempel.")

#: DeSO 2025 codes whose RegSO 2025 name starts with "Bergsjön" (SCB DeSO_2025 layer, Göteborg 1480).
BERGSJON_DESO_2025: dict[str, str] = {
    "1480C3390": "Bergsjön sydöstra",
    "1480C3400": "Bergsjön södra",
    "1480C3440": "Bergsjön centrala",
    "1480C3500": "Bergsjön nordvästra",
    "1480C3510": "Bergsjön nordvästra",
    "1480C3530": "Bergsjön Rymdtorget",
    "1480C3561": "Bergsjön Rymdtorget",
    "1480C3562": "Bergsjön Rymdtorget",
    "1480C3580": "Bergsjön centrala",
    "1480C3600": "Bergsjön nordvästra",
}

ORGANISATIONS = [
    {"key": "fb", "name": "Familjebostäder", "type": "public_housing", "role": "lead",
     "description": "Allmännyttigt bostadsbolag i Framtidenkoncernen; ansvarar för handslaget i Bergsjön."},
    {"key": "balder", "name": "Balder", "type": "private_landlord", "role": "partner",
     "description": "Privat fastighetsägare i Bergsjön."},
    {"key": "saab", "name": "Saab", "type": "company", "role": "partner",
     "description": "Företag med verksamhet i Bergsjön."},
]

PARTNERSHIP = {
    "name": DEMO_NAME,
    "description": ("Exempel på ett handslag mellan allmännytta, privat fastighetsägare och näringsliv i Bergsjön, "
                    "Göteborg, med gemensamma mål till 2025 härledda ur gapet till stadens genomsnitt. "
                    + EXAMPLE_NOTE),
    "period_start": "2022-12-01",
    "period_end": "2025-12-31",
    "budget_sek": 30_000_000,
    "kommun_code": "1480",
    "is_example": True,
}

GOALS = [
    {"key": "jobs", "title": "575 fler personer i arbete", "kind": "statistic", "unit": "persons",
     "measure": "change", "baseline_value": 0, "baseline_year": 2024, "target_value": 575, "target_year": 2025,
     "indicator": "employment_20_64", "aggregation": "count", "denominator_indicator": "population_20_64",
     "responsible": "fb",
     "description": ("Förändring av antalet förvärvsarbetande 20–64 år i Bergsjöns DeSO (sysselsättningsgrad × "
                     "befolkning 20–64) jämfört med basåret, från SCB:s statistik."),
     "source_note": ("Exempelmål (575) ur krönika, ej belagt i offentliga källor. Basår 2024 eftersom DeSO 2025-"
                     "statistiken börjar 2024; handslaget startade december 2022.")},
    {"key": "companies", "title": "75 nya företag", "kind": "partner_reported", "unit": "companies",
     "measure": "change", "baseline_value": 0, "baseline_year": 2022, "target_value": 75, "target_year": 2025,
     "responsible": "balder",
     "description": "Nystartade företag i Bergsjön sedan handslaget började (rapporteras av parterna).",
     "source_note": "Exempelmål (75) ur krönika, ej belagt i offentliga källor; mätvärdena är påhittade."},
    {"key": "eligible", "title": "125 fler elever behöriga till gymnasiet", "kind": "partner_reported",
     "unit": "persons", "measure": "change", "baseline_value": 0, "baseline_year": 2022, "target_value": 125,
     "target_year": 2025, "responsible": "fb",
     "description": "Fler elever från Bergsjön som lämnar årskurs 9 med behörighet till gymnasiet, jämfört med 2022.",
     "source_note": "Exempelmål (125) ur krönika, ej belagt i offentliga källor; mätvärdena är påhittade."},
    {"key": "summer", "title": "1 000 sommarjobb", "kind": "partner_reported", "unit": "persons",
     "measure": "change", "baseline_value": 0, "baseline_year": 2022, "target_value": 1000, "target_year": 2025,
     "responsible": "saab",
     "description": "Sommar- och lovjobb till unga som bor i stadsdelen, sammanlagt sedan 2022.",
     "source_note": "Exempelmål (1 000) ur krönika, ej belagt i offentliga källor; mätvärdena är påhittade."},
]

#: (goal key, period, value, final state) – invented example values.
MEASUREMENTS = [
    ("companies", "2023", 14, "approved"),
    ("companies", "2024", 40, "approved"),
    ("companies", "2025-Q2", 52, "submitted"),
    ("eligible", "2023", 18, "approved"),
    ("eligible", "2024", 45, "approved"),
    ("summer", "2023", 310, "approved"),
    ("summer", "2024", 640, "approved"),
    ("summer", "2025-Q3", 930, "draft"),
]

ACTIVITIES = [
    {"title": "Sommarjobb för unga i Bergsjön 2022", "org": "fb", "start_date": "2022-06-01",
     "end_date": "2022-08-31", "status": "completed", "goals": [],
     "outputs": [{"name": "summer jobs offered", "value": 252, "unit": "jobs"}],
     "description": ("Familjebostäder gav 252 sommarjobb i Bergsjön 2022 enligt vartgoteborg.se (sekundärkälla). "
                     "Före basåret för sommarjobbsmålet; visas som exempel på en prestation.")},
    {"title": "Lovjobb och praktik hos Saab", "org": "saab", "start_date": "2023-06-01", "end_date": "2025-08-31",
     "status": "ongoing", "goals": ["summer", "jobs"], "budget_sek": 1_500_000, "spent_sek": 950_000,
     "outputs": [{"name": "summer jobs offered", "value": 180, "unit": "jobs"},
                 {"name": "trainee places", "value": 24, "unit": "persons"}],
     "description": "Exempel: lovjobb, praktikplatser och studiebesök för unga från Bergsjön."},
    {"title": "Trygghetsvärdar 15–23 alla dagar", "org": "fb", "start_date": "2023-01-01", "end_date": None,
     "status": "ongoing", "goals": [], "budget_sek": 6_000_000, "spent_sek": 4_100_000,
     "outputs": [{"name": "security hosts employed", "value": 6, "unit": "persons"}],
     "description": "Superförvaltning: lokal närvaro sju dagar i veckan till 23.00 (exempelsiffror)."},
    {"title": "Företagslots och lokaler för nyföretagare", "org": "balder", "start_date": "2023-03-01",
     "end_date": "2025-12-31", "status": "ongoing", "goals": ["companies"], "budget_sek": 2_000_000,
     "spent_sek": 800_000, "outputs": [{"name": "entrepreneurs coached", "value": 63, "unit": "persons"}],
     "description": "Exempel: rådgivning och rabatterade lokaler för nya företag."},
    {"title": "Läxhjälp och föräldrastöd", "org": "fb", "start_date": "2023-08-15", "end_date": "2025-06-15",
     "status": "ongoing", "goals": ["eligible"], "budget_sek": 1_200_000, "spent_sek": 700_000,
     "outputs": [{"name": "pupils in homework support", "value": 140, "unit": "persons"}],
     "description": "Exempel: läxhjälp i samarbete med föreningar."},
]

CONTRIBUTIONS = [
    {"org": "fb", "kind": "money", "amount": 4_000_000, "date": "2023-01-15", "description": "Exempel: insats 2023"},
    {"org": "fb", "kind": "staff_hours", "amount": 9_600, "value_sek": 4_800_000, "date": "2023-12-31",
     "description": "Exempel: socialt team (två utvecklingsledare, trygghetschef, trygghetsvärdar)"},
    {"org": "balder", "kind": "money", "amount": 2_000_000, "date": "2023-03-01", "description": "Exempel"},
    {"org": "balder", "kind": "in_kind", "amount": 600_000, "unit": "SEK", "value_sek": 600_000,
     "date": "2023-03-01", "description": "Exempel: lokaler för nyföretagare till reducerad hyra"},
    {"org": "saab", "kind": "money", "amount": 1_500_000, "date": "2023-06-01", "description": "Exempel"},
    {"org": "saab", "kind": "staff_hours", "amount": 2_400, "value_sek": 1_440_000, "date": "2024-08-31",
     "description": "Exempel: handledare för lovjobb och praktik"},
]
