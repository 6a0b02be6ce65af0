"""The application layer: the use cases a person or a job starts (study, exams, reminders, the
overdue sweep), each a service over the domain's rules and infra's adapters. Channels (bot/,
webview/, wechat/) and the conversation core call these; nothing here knows a channel."""
