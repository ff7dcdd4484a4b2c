"""The two status columns: REUNITIED_SEP_PARENTS in its label variants, and UAC STATUS."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from service.orr_import.row import ReunificationStatus

# Every REUNITIED_SEP_PARENTS label found in the file, compared without case, dots or
# extra spaces ("Sep. Parent" is "Sep Parent", "Still In Care" is "Still in Care").
STATUS_LABELS: Mapping[str, ReunificationStatus] = MappingProxyType(
    {
        "reunited with sep parent": ReunificationStatus.REUNITED_WITH_SEPARATED_PARENT,
        "discharged under other approp circumstances": (
            ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE
        ),
        "other approp circumstances": ReunificationStatus.DISCHARGED_OTHER_APPROPRIATE,
        "still in care": ReunificationStatus.STILL_IN_CARE,
    }
)


def _label_key(label: str) -> str:
    return " ".join(label.replace(".", " ").split()).casefold()


def reunification_status(label: str) -> ReunificationStatus:
    """The status a REUNITIED_SEP_PARENTS label means; ValueError for any other label."""
    status = STATUS_LABELS.get(_label_key(label))
    if status is None:
        raise ValueError("blank" if not label.strip() else f"unknown status {label.strip()!r}")
    return status


def uac_discharged(label: str) -> bool:
    """Whether a UAC STATUS says the child has left care; ValueError for any other label."""
    match label.strip().upper():
        case "DISCHARGED":
            return True
        case "ADMITTED":
            return False
    raise ValueError(f"unknown UAC status {label.strip()!r}")
