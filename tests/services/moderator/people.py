"""Contacts the moderator's bus tests use besides ``tests.factories``' Alice and Bob."""

from schemas import Contact

CAROL = Contact(id="carol", name="Carol")
DAVE = Contact(id="dave", name="Dave")
OWNER = Contact(id="owner", name="Owner")  # the owner of tests.factories.ROOM
BOT = Contact(id="bot", name="QunBot")
