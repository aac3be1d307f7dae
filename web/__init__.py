"""The aiohttp front end: HTTP requests become actor messages, answers the v3 envelope."""
