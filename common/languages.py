"""The languages fupin speaks: Chinese first (the default), then English."""

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
