"""Add a template from a .bpt file, list, update, delete (app context): ``python examples/templates.py``."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from _demo import demo

from bitrix_bizproc.models import AutoExecute, DocumentType


def exported_file(folder: str) -> Path:
    """Stands in for a file exported from the workflow designer."""
    bpt = Path(folder, "approval.bpt")
    bpt.write_bytes(b"exported template bytes")
    return bpt


async def main() -> None:
    async with demo() as d:
        with tempfile.TemporaryDirectory() as tmp:
            bpt = exported_file(tmp)
            tpl_id = await d.app.templates.add(
                document_type=DocumentType.deal(), name="Approval", template_data=bpt
            )
        print("added template", tpl_id)
        await d.app.templates.update(tpl_id, auto_execute=AutoExecute.CREATE | AutoExecute.MODIFY)
        async for tpl in d.app.templates.list(select=["ID", "NAME", "AUTO_EXECUTE", "DOCUMENT_TYPE"]):
            print(tpl.id, tpl.name, tpl.auto_execute, tpl.document_type)
        await d.app.templates.delete(tpl_id)


if __name__ == "__main__":
    asyncio.run(main())
