"""Register an automation rule (robot) that waits for an answer: ``python examples/robots.py``."""

from __future__ import annotations

import asyncio

from _demo import demo

from bitrix_bizproc.models import DocumentType, Property, PropertyType


async def main() -> None:
    async with demo() as d:
        await d.app.robots.add(
            code="sms_robot",
            handler="https://app.example.com/robot",
            name={"en": "Send SMS", "de": "SMS senden"},
            properties={
                "phone": Property(name="Phone", type=PropertyType.STRING, required=True),
                "text": Property(name="Text", type=PropertyType.TEXT),
            },
            return_properties={"delivered": Property(name="Delivered", type=PropertyType.BOOL)},
            document_type=DocumentType.deal(),
            use_subscription=True,
        )
        print("robots:", await d.app.robots.list())
        await d.app.robots.update("sms_robot", name={"en": "Send SMS (v2)"})
        await d.app.robots.delete("sms_robot")


if __name__ == "__main__":
    asyncio.run(main())
