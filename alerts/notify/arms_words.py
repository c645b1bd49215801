"""SIPRI's words in the reader's language: what a state acquired, from whom, in an arms-race notice.

The SIPRI register names each item by designation (``Bayraktar TB2``: a name, never translated),
a description from SIPRI's own vocabulary (``armed UAV``) and the supplier in SIPRI's spelling
(``Turkiye``, ``Soviet Union``). A Russian secretariat reads the description and the supplier in
Russian: the descriptions are catalog entries (``N_`` below; an unknown one stays as SIPRI wrote
it), the suppliers CLDR's names of states through babel, with the few SIPRI spellings CLDR does
not use mapped here and the states that no longer exist in the catalog.
"""

from __future__ import annotations

from typing import Any, Mapping

from babel import Locale

from alerts.notify.i18n import SOURCE_LANGUAGE, translations


def N_(message: str) -> str:
    """Marks a string for the catalog (``pybabel extract``) where it is not translated yet."""
    return message


#: SIPRI's descriptions in the bundled register (streams/data/sipri-trade-register-central-asia.csv);
#: a description not listed is shown as SIPRI wrote it.
DESCRIPTIONS = frozenset({
    N_("(armed) trainer aircraft"), N_("APC"), N_("FGA aircraft"), N_("MCM ship"), N_("SAM"), N_("SAM system"),
    N_("UAV"), N_("air search radar"), N_("air search system"), N_("air-to-surface missile"),
    N_("air/sea search radar"), N_("aircraft EO system"), N_("aircraft engine"), N_("anti-radar missile/ASM"),
    N_("anti-ship missile"), N_("anti-tank missile"), N_("armed UAV"), N_("armoured reconnaissance vehicle"),
    N_("armoured supply vehicle"), N_("bomber aircraft"), N_("combat aircraft radar"), N_("combat helicopter"),
    N_("fighter aircraft"), N_("fire-support vehicle"), N_("frigate"), N_("ground-attack aircraft"),
    N_("guided bomb"), N_("heavy transport aircraft"), N_("height-finding radar"), N_("helicopter"),
    N_("infantry fighting vehicle"), N_("infantry fighting vehicle turret"), N_("light aircraft"),
    N_("light helicopter"), N_("light tank"), N_("light transport aircraft"), N_("loitering munition"),
    N_("long-range air-to-air missile"), N_("missile boat"), N_("mobile SAM system"), N_("mortar"),
    N_("multi-function radar"), N_("multiple rocket launcher"), N_("naval gun"), N_("patrol boat"),
    N_("portable SAM"), N_("reconnaissance aircraft"), N_("self-propelled anti-aircraft gun"),
    N_("self-propelled gun"), N_("ship engine"), N_("short-range air-to-air missile"),
    N_("surface-to-surface missile"), N_("surface-to-surface missile launcher"), N_("tank"), N_("tank destroyer"),
    N_("towed gun"), N_("trainer aircraft"), N_("trainer/combat aircraft"), N_("transport aircraft"),
    N_("transport helicopter"), N_("turbofan"), N_("turboprop"), N_("vehicle engine"),
})
#: Suppliers CLDR has no name for: states that no longer exist, and SIPRI's unknown.
FORMER_SUPPLIERS = frozenset({N_("Soviet Union"), N_("Czechoslovakia"), N_("Yugoslavia"), N_("East Germany"),
                              N_("unknown supplier(s)")})
#: SIPRI's spellings that are not CLDR's English names, to the state's two-letter code.
SIPRI_SPELLINGS = {"Bosnia-Herzegovina": "BA", "Turkiye": "TR", "UAE": "AE"}


def _territory_codes() -> dict[str, str]:
    return {name: code for code, name in Locale(SOURCE_LANGUAGE).territories.items() if code.isalpha()}


_CODES = _territory_codes()


def description_name(description: str, lang: str) -> str:
    return translations(lang).gettext(description) if description in DESCRIPTIONS else description


def supplier_name(supplier: str, lang: str) -> str:
    """The supplier as ``lang`` names the state (``Turkiye`` -> ``Турция``); SIPRI's own spelling
    where no name is known."""
    if lang == SOURCE_LANGUAGE:
        return supplier
    if supplier in FORMER_SUPPLIERS:
        return translations(lang).gettext(supplier)
    code = SIPRI_SPELLINGS.get(supplier) or _CODES.get(supplier)
    return Locale(lang).territories.get(code, supplier) if code else supplier


def acquisition_words(acquired: Mapping[str, Any], lang: str) -> str:
    """One acquisition in ``lang``; in English exactly ``detectors.arms_race.Acquisition.words``
    (``2021 order of 3 Bayraktar TB2 armed UAV from Turkiye``)."""
    _ = translations(lang).gettext
    values = {"year": int(acquired["year"]), "quantity": int(acquired.get("quantity") or 0),
              "designation": acquired["designation"], "description": description_name(acquired["description"], lang),
              "supplier": supplier_name(acquired["supplier"], lang)}
    if acquired.get("order"):
        pattern = (_("%(year)d order of %(quantity)d %(designation)s %(description)s from %(supplier)s")
                   if values["quantity"] else _("%(year)d order of %(designation)s %(description)s from %(supplier)s"))
    else:
        pattern = (_("%(year)d delivery of %(quantity)d %(designation)s %(description)s from %(supplier)s")
                   if values["quantity"] else
                   _("%(year)d delivery of %(designation)s %(description)s from %(supplier)s"))
    return pattern % values
