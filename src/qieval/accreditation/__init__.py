"""Standards accreditation: a framework of standards as data, validated self-assessments
over rounds, status rules, linked measures checked against the project's data.

Modules, one job each: :mod:`.measure_checks` (linked measures against the data),
:mod:`.status_rules` (status rules), :mod:`.evaluation` (status table, plain English). The inputs
are read and validated in :mod:`qieval.io` like every other input: :mod:`qieval.io.standards`
(framework YAML), :mod:`qieval.io.assessments` (the standards_assessments table, checked by
``qieval validate``), :mod:`qieval.io.assessment_rounds` (round names); their public names are
re-exported here.
"""

from ..io.assessments import load_assessments, validate_assessments
from ..io.standards import Framework, load_for_project, load_framework

__all__ = ["Framework", "load_framework", "load_for_project", "load_assessments", "validate_assessments"]
