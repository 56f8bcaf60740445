"""Code similarity of one course assignment, for its staff: the report, and the base files it
subtracts (the starter and the course's scripts always; files an instructor adds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from api.deps import CatalogDep, CurrentUser, LanguageDep, SessionDep, SettingsDep
from api.routers import errors
from api.schemas import MAX_ID, SimilarityBasePublic, SimilarityReport
from api.services import similarity
from api.services.gradebook import Policy
from grader.similarity import THRESHOLD

router = APIRouter(prefix="/courses/{course}/assignments/{assignment_id}/similarity", tags=["instructors"])


@router.get("", response_model=SimilarityReport, responses=errors(403, 404))
def get_report(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, catalog: CatalogDep,
               user: CurrentUser,
               language: LanguageDep,
               policy: Annotated[Policy, Query(description="each student's latest or best scored code upload")]
               = "latest",
               submission: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None,
                                     Query(description="compare these submissions instead (repeat the parameter)")]
               = None,
               threshold: Annotated[float, Query(ge=0, le=1, description="pairs at or above it make clusters")]
               = THRESHOLD,
               limit: Annotated[int, Query(ge=1, le=similarity.MAX_PAIRS, description="pairs shown, best first")]
               = 50) -> dict:
    """Every pair of the students' submissions compared (renamed identifiers, reordered
    functions, comments and layout do not hide a copy; the course's own code is subtracted):
    the best pairs with their matched regions side by side, and the clusters of three or more."""
    offered = similarity.offering(session, user, course, assignment_id)
    return similarity.report(session, settings, catalog, offered, policy=policy, ids=submission, threshold=threshold,
                             limit=limit, language=language)


@router.get("/bases", response_model=list[SimilarityBasePublic], responses=errors(403, 404))
def list_bases(course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
               user: CurrentUser) -> list[dict]:
    """The code the report subtracts: the pack's starter, the course's scripts, the instructors' files."""
    return similarity.list_bases(session, catalog, similarity.offering(session, user, course, assignment_id))


@router.post("/bases", status_code=status.HTTP_201_CREATED, response_model=list[SimilarityBasePublic],
             responses=errors(400, 403, 404, 413, 415, 422))
def add_base(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, catalog: CatalogDep,
                   user: CurrentUser,
                   file: Annotated[UploadFile, File(description=".py, .ipynb or .zip: code the course gave out")]) \
        -> list[dict]:
    """Add a file of the course's own code for this assignment (one of the same name is
    replaced); answers every base."""
    content = file.file.read((settings.max_upload_kb << 10) + 1)
    offered = similarity.offering(session, user, course, assignment_id, change=True)
    similarity.add_base(session, settings, catalog, offered, user, file.filename or "", content)
    session.commit()
    return similarity.list_bases(session, catalog, offered)


@router.delete("/bases/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404))
def remove_base(course: str, assignment_id: str, name: str, session: SessionDep, user: CurrentUser) -> None:
    similarity.remove_base(session, similarity.offering(session, user, course, assignment_id, change=True), name)
    session.commit()
