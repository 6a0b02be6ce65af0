"""The WeChat Official Account (服务号) channel: WeChat's callback in as core events, the core's
turns out as customer-service messages, the custom menu, and OAuth into the web view.

A sibling of `bot/` (Telegram): both carry the same conversations (`conversation/`); neither
imports the other or the web view. The composition root (`jijiao/app.py`) wires it.
"""
