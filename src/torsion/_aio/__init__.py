"""The asyncio event loop on torsion's reactor (the room behind ``torsion.aio``)."""
