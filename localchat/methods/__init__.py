"""Telegram Bot API methods, one module per thing they act on; localchat/botapi.py maps
Telegram's method names onto them."""
