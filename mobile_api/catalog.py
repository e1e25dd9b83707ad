"""The activity-type catalogue the phone draws its forms from, with ETag revalidation."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import HeaderParameter

from backend.auth.principal import Principal
from backend.http.problems import problem_responses
from backend.worklog.catalog import Catalog, catalog_etag, catalog_json

# Revalidate every time: a 304 costs a few bytes and a new catalogue reaches the phone at once.
CACHE_CONTROL = "private, no-cache"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list (or `*`) against our strong ETag."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


class CatalogController(Controller):
    path = "/api/v1/catalog"
    tags = ["catalog"]

    @get(operation_id="get_catalog", summary="The versioned catalogue of activity types and their fields",
         description="Send the last ETag in If-None-Match; an unchanged catalogue answers 304 with no body.",
         responses=problem_responses(401))
    async def catalog(
        self, principal: Principal,
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", required=False, max_length=200)] = None,
    ) -> Response[Catalog]:
        etag = catalog_etag()
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if etag_matches(if_none_match, etag):
            return Response(content=None, status_code=304, headers=headers)
        return Response(content=catalog_json(), media_type="application/json", headers=headers)
