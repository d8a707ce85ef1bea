"""Command-line settings for the gallery's scripts (not a gallery page).

Each example opens with its settings as UPPER_CASE names; run as a script,
``--name value`` replaces one (``--n-samples 500`` sets ``N_SAMPLES``, and
a list setting takes every value up to the next ``--name``). The
documentation build passes no arguments, so the pages show the defaults.
"""

import sys


def override(settings, argv=None):
    """Replace entries of ``settings`` (a module's ``globals()``) from ``--name value`` args."""
    name = None
    for arg in sys.argv[1:] if argv is None else argv:
        if arg.startswith("--"):
            name = arg[2:].replace("-", "_").upper()
            if name not in settings:
                sys.exit(f"unknown setting {arg}")
            if isinstance(settings[name], list):
                settings[name] = []
        else:
            value = int(arg) if arg.lstrip("-").isdigit() else arg
            if isinstance(settings[name], list):
                settings[name].append(value)
            else:
                settings[name] = value
