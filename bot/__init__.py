"""The Telegram bot: thin aiogram routers that parse, call a use case and render."""
