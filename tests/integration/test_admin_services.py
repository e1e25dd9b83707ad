"""Back-office services on a real PostgreSQL: conflicts as 409s, imports that leave nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.admin import importer, institutions
from backend.admin import schemas as s
from backend.errors import Conflict, InvalidInput
from backend.models import Institution
from tests.factories import World


async def test_renaming_a_code_onto_another_is_a_conflict(session: Any, world: World) -> None:
    with pytest.raises(Conflict) as caught:
        await institutions.update_institution(session, None, world.hospital_a.id,
                                              s.InstitutionUpdate(code=world.hospital_b.code))
    assert caught.value.extra["reason"] == "code_taken"


async def test_a_failed_import_leaves_the_session_clean_and_usable(session: Any, world: World) -> None:
    sheet = "code,name,kind,level\nOK-1,好医院,county_hospital,primary\nOK-1,重复,county_hospital,primary\n"
    with pytest.raises(InvalidInput) as caught:
        await importer.import_rows(session, None, "institutions", sheet.encode(), "text/csv",  # type: ignore[arg-type]
                                   dry_run=False)
    assert caught.value.extra["report"]["rows"][1]["errors"][0]["code"] == "code_taken"
    assert (await session.execute(select(func.count()).where(Institution.code == "OK-1"))).scalar_one() == 0
    report = await importer.import_rows(session, None, "institutions", sheet.rsplit("OK-1", 1)[0].encode(), "text/csv",  # type: ignore[arg-type]
                                        dry_run=False)
    assert report.committed
    assert report.ok == 1
    await session.commit()
    assert (await session.execute(select(func.count()).where(Institution.code == "OK-1"))).scalar_one() == 1
