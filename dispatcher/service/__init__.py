"""The live dispatcher service: journal, crash points, the asyncio runtime and its command."""
