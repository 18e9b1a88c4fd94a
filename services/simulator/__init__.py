"""A local WeChat world for the gateway: rooms, members and messages in memory, a puppet, an HTTP API and a page."""
