"""The conversation core: what the product says and asks, whatever the channel.

A channel (Telegram in `bot/`, a test's plain-text channel, WeChat) turns what a person did into
an event (`events.py`), hands it to `Conversations` with the person's conversation state, and
renders the `Turn` it gets back: sentences in the person's language (`texts/`), buttons that
come back as presses, links into the web view, files. Flows hold no channel types; the rules
and use cases they call live in `domain/` and `application/`.
"""
