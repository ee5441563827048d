"""Stand-ins for the devicetree functions of Zephyr's Kconfig preprocessor
(scripts/kconfig/kconfigfunctions.py upstream), for kconfiglib in tinytx's CI.

kconfiglib imports the module named by KCONFIG_FUNCTIONS and calls these while it
parses; they answer from ``DEVICETREE``, which the test sets to the profile of the
board under test before it builds each Kconfig instance.
"""

from __future__ import annotations

DEVICETREE: dict[str, set[str]] = {"chosen": set(), "nodelabels": set()}


def dt_chosen_enabled(kconf, name: str, chosen: str) -> str:
    return "y" if chosen in DEVICETREE["chosen"] else "n"


def dt_nodelabel_enabled(kconf, name: str, label: str) -> str:
    return "y" if label in DEVICETREE["nodelabels"] else "n"


functions = {
    "dt_chosen_enabled": (dt_chosen_enabled, 1, 1),
    "dt_nodelabel_enabled": (dt_nodelabel_enabled, 1, 1),
}
