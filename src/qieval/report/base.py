"""What every project report holds: the validated project, who the copy is for, where it writes."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from ..config import ProjectConfig
from ..disclosure import DisclosurePolicy
from ..io.load import ProjectData


@dataclass
class ProjectReport:
    """The fields the site, network and accreditation reports share.

    Each report adds its computed results as fields after ``data``; the shared fields below are
    keyword-only.

    Parameters
    ----------
    data
        The validated project (params and tables).
    provenance
        The inputs' checksums, versions and commit (see :mod:`qieval.report.provenance`).
    output_dir
        Where the report writes its results (None: nothing written).
    audience
        ``evaluator``, ``commissioner`` or ``public`` (see :mod:`qieval.disclosure`).
    policy
        The small-number policy of this copy (None: disabled).
    """

    data: ProjectData
    _: KW_ONLY
    provenance: dict = field(default_factory=dict)
    output_dir: Path | None = None
    audience: str = "evaluator"
    policy: DisclosurePolicy | None = None

    @property
    def config(self) -> ProjectConfig:
        """The project's validated params."""
        return self.data.config
