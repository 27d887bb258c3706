"""The Django application: its label is ``pointkit``, it has migrations and commands, no models."""

from __future__ import annotations

from django.apps import AppConfig


class PointkitConfig(AppConfig):  # type: ignore[misc] # Django ships no type information
    """pointkit's schema (a migration) and its expiry job (``pointkit_expire``)."""

    name = "pointkit.integrations.django"
    label = "pointkit"
    verbose_name = "pointkit"
