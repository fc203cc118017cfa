"""Every domain's models, imported from here by `startup` and by Alembic's environment, so every mapper can
resolve its relationships by name and `Base.metadata` holds the whole schema. A domain's new model is added
here too. The schema itself is made by the migrations (`migrations/versions`), never by `create_all`."""

from archive_service.access.models import AccessLogEntry, RetrievalRequest
from archive_service.auth.models import (
    DataKeyRecord,
    LoginAttempt,
    PasswordHistory,
    RecoveryCode,
    SecurityPolicy,
    SessionToken,
    User,
)
from archive_service.db import Base
from archive_service.digitisation.misfiled_models import PageCheck
from archive_service.digitisation.models import PageCountCheck
from archive_service.disposal.models import DisposalEntry, DisposalList, DisposalSignature, RetentionRule
from archive_service.dossiers.models import (
    CatalogueRevision,
    ClassScheme,
    CustodyEvent,
    DigitalObject,
    Dossier,
    Material,
    MaterialClass,
    PageText,
    Retiree,
)
from archive_service.finding.models import SearchOutbox
from archive_service.holdings.models import HoldingsEntry, HoldingsImport, HoldingsMapping, HoldingsProblem
from archive_service.jobs.models import Job
from archive_service.numbering import NumberSeries
from archive_service.organisations.models import Organisation
from archive_service.preservation.models import FixityCheck, FixityRun, ObjectDeletion
from archive_service.shelving.models import (
    EnvironmentReading,
    RetirementProjection,
    Room,
    ShelfSlot,
    ShelvingUnit,
    SpacePolicy,
    VolumeProfile,
)
from archive_service.transfers.fee_models import FeePayment, FeePolicy
from archive_service.transfers.models import MaterialSupplement, RetainedCopy, TransferBatch, TransferItem
from archive_service.verification.models import ReadingCheck

__all__ = [
    "AccessLogEntry",
    "DataKeyRecord",
    "PasswordHistory",
    "RecoveryCode",
    "SecurityPolicy",
    "Base",
    "FixityCheck",
    "Job",
    "FixityRun",
    "HoldingsEntry",
    "HoldingsImport",
    "HoldingsMapping",
    "HoldingsProblem",
    "ObjectDeletion",
    "ClassScheme",
    "CustodyEvent",
    "DigitalObject",
    "FeePayment",
    "FeePolicy",
    "DisposalEntry",
    "DisposalList",
    "DisposalSignature",
    "RetentionRule",
    "EnvironmentReading",
    "Dossier",
    "LoginAttempt",
    "CatalogueRevision",
    "Material",
    "MaterialClass",
    "NumberSeries",
    "Organisation",
    "PageCountCheck",
    "PageCheck",
    "PageText",
    "ReadingCheck",
    "Retiree",
    "RetirementProjection",
    "RetrievalRequest",
    "Room",
    "SearchOutbox",
    "SessionToken",
    "ShelfSlot",
    "ShelvingUnit",
    "SpacePolicy",
    "MaterialSupplement",
    "RetainedCopy",
    "TransferBatch",
    "TransferItem",
    "User",
    "VolumeProfile",
]
