"""The stand-in's world: users, chats, messages, files and the update queue, kept in memory and
snapshotted to one JSON file so a restart keeps the conversation.

LocalChat is put together from one class per concern, each using those below it:
World (world.py: the state, lookups, updates, flood control, messages) on Persisted
(persistence.py: the snapshot), FileStore (filestore.py), then ActingAsUsers (users.py) and
Reading (reading.py)."""

from localchat.reading import Reading
from localchat.users import ActingAsUsers


class LocalChat(ActingAsUsers, Reading):
    """The whole stand-in world; the Bot API and the user-playing API are two views on it."""
