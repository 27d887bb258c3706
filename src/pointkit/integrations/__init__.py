"""Integrations with the frameworks hosts run pointkit in: the top layer.

Each integration is a subpackage that may use all of pointkit; nothing in pointkit imports
them, so a host that does not use a framework never imports it.
"""

__all__: list[str] = []
