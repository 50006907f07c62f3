"""Task families: procedural and file-backed sources of items with exact verifiers.

``build_family(name, options)`` builds one; ``FAMILIES`` lists them for the web.
"""

from workers.engine.tasks.base import Item, SkillInfo, TaskFamily
from workers.engine.tasks.registry import FAMILIES, FamilyInfo, build_family

__all__ = ["FAMILIES", "FamilyInfo", "Item", "SkillInfo", "TaskFamily", "build_family"]
