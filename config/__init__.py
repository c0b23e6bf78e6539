"""Typed stack config: models, per-environment profiles, rules, loader and naming."""

from config.errors import ConfigError, Problem
from config.loader import build_settings, load_settings
from config.settings import PROJECT, Settings

__all__ = ["PROJECT", "ConfigError", "Problem", "Settings", "build_settings", "load_settings"]
