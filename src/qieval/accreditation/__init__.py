"""Standards accreditation (issue 5): a framework of standards as data, validated self-assessments
over rounds, status rules, linked measures checked against the project's data.

Modules, one job each: :mod:`.framework` (framework YAML), :mod:`.rounds` (round names),
:mod:`.assessments` (the standards_assessments table), :mod:`.measure_checks` (linked measures
against the data), :mod:`.status_rules` (status rules), :mod:`.evaluation` (status table, plain English).
"""

from .assessments import load_assessments, validate_assessments
from .framework import Framework, load_for_project, load_framework

__all__ = ["Framework", "load_framework", "load_for_project", "load_assessments", "validate_assessments"]
