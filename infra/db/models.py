"""Tortoise models: the storage shape of the domain, changed only through migrations."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class ChatUser(Model):
    """A chat account that has talked to the product: a Telegram user, or a WeChat user of the
    Official Account (docs/architecture.md, "A new channel")."""

    # Telegram: the Telegram user id (positive), always given explicitly. Another channel's
    # account gets the next negative id, so the int ChatUserId everywhere never collides.
    id = fields.BigIntField(primary_key=True)
    # "telegram", or "wechat" with the account's openid as external_id (null for Telegram,
    # whose id is the user id itself).
    channel = fields.CharField(max_length=16, default="telegram", db_default="telegram")
    external_id = fields.CharField(max_length=64, null=True)
    # The person's last message or event to us: WeChat lets the product write freely only
    # within 48 hours of it (customer-service messages); null for Telegram until recorded.
    last_inbound_at = fields.DatetimeField(null=True)
    first_name = fields.CharField(max_length=128, default="")
    language_code = fields.CharField(max_length=16, null=True)
    locale = fields.CharField(max_length=8, null=True)
    # Blocked the bot or deleted the chat: sending stops until they write again.
    unreachable = fields.BooleanField(default=False)
    # Non-essential reminders muted by the trainee; deadline-critical ones still go out.
    muted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chat_user"
        unique_together = (("channel", "external_id"),)


class FsmRecord(Model):
    """aiogram FSM state and data, one row per storage key, when Redis is not configured."""

    key = fields.CharField(max_length=255, primary_key=True)
    state = fields.CharField(max_length=255, null=True)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "fsm_record"


class Person(Model):
    """A registry person (imported from the provincial roster)."""

    id = fields.IntField(primary_key=True)
    # ID number and phone never in plaintext (infra.pii): the keyed digest finds and keeps
    # them unique, the seal holds the value; "" for no phone.
    id_number_hash = fields.CharField(max_length=64, unique=True)
    id_number_sealed = fields.CharField(max_length=128)
    name = fields.CharField(max_length=64)
    phone_hash = fields.CharField(max_length=64, default="")
    phone_sealed = fields.CharField(max_length=128, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "person"
        # Declared here, not as db_index: SQLite rebuilds the table to drop a column, and the
        # rebuild keeps no index of its own (migration 0012 adds this one after its rebuilds).
        indexes = (("phone_hash",),)


class Enterprise(Model):
    id = fields.IntField(primary_key=True)
    credit_code = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128)
    contact_phone_sealed = fields.CharField(max_length=128, default="")  # infra.pii
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "enterprise"


class Certificate(Model):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=64, unique=True)
    cert_type = fields.CharField(max_length=16)
    category = fields.CharField(max_length=16, null=True)
    role = fields.CharField(max_length=16, null=True)  # domain.registry.SiteRole, site_pro only
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "jijiao.Person", related_name="certificates", on_delete=fields.CASCADE
    )
    person_id: int
    enterprise: fields.ForeignKeyNullableRelation[Enterprise] = fields.ForeignKeyField(
        "jijiao.Enterprise", related_name="certificates", null=True, on_delete=fields.SET_NULL
    )
    issued_on = fields.DateField(null=True)
    expires_on = fields.DateField(db_index=True)
    status = fields.CharField(max_length=8, default="valid")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certificate"
        indexes = (("person_id",), ("enterprise_id",))


class ImportRun(Model):
    """One roster import, for the audit trail and the staff's report."""

    id = fields.IntField(primary_key=True)
    file_name = fields.CharField(max_length=255)
    source = fields.CharField(max_length=16)  # cli | chat
    new = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    unchanged = fields.IntField(default=0)
    rejected = fields.IntField(default=0)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "import_run"


class Binding(Model):
    """A chat account proven to belong to a registry person (own contact or SMS code, matching
    phone). One account per channel: a person may be bound on Telegram and on WeChat, never
    twice on one channel (docs/architecture.md, "One person, two channels")."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(unique=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "jijiao.Person", related_name="binding", on_delete=fields.CASCADE
    )
    person_id: int
    # The account's channel (chat_user.channel), kept here so the database holds the rule.
    channel = fields.CharField(max_length=16, default="telegram", db_default="telegram")
    bound_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "binding"
        unique_together = (("person", "channel"),)


class EnterpriseContact(Model):
    """A chat account proven to be an enterprise's registered contact."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(unique=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "jijiao.Enterprise", related_name="contacts", on_delete=fields.CASCADE
    )
    enterprise_id: int
    bound_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise_contact"
        indexes = (("enterprise_id",),)


class Enrolment(Model):
    id = fields.IntField(primary_key=True)
    certificate: fields.ForeignKeyRelation[Certificate] = fields.ForeignKeyField(
        "jijiao.Certificate", related_name="enrolments", on_delete=fields.CASCADE
    )
    # The certificate number while the enrolment is active, NULL once it ends: a unique column
    # that both SQLite and PostgreSQL enforce, so a certificate has one active enrolment at most.
    active_key = fields.CharField(max_length=64, unique=True, null=True)
    channel = fields.CharField(max_length=16)  # individual | enterprise
    enterprise: fields.ForeignKeyNullableRelation[Enterprise] = fields.ForeignKeyField(
        "jijiao.Enterprise", related_name="enrolments", null=True, on_delete=fields.SET_NULL
    )
    enterprise_id: int | None
    enrolled_by = fields.BigIntField()
    state = fields.CharField(max_length=20, db_index=True)
    paid_at = fields.DatetimeField(null=True)
    study_deadline = fields.DatetimeField(null=True, db_index=True)
    # When it stopped being active (passed, cancelled), by the app's clock: face data retention
    # counts from it. `updated_at` is the row's bookkeeping, which bulk updates do not touch.
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "enrolment"
        # Declared here because migration 0004 added study_deadline without its index, and
        # foreign keys get none by themselves: the reminder scanner reads by these, an
        # enterprise contact's records pages by the last.
        indexes = (("study_deadline",), ("certificate_id",), ("enterprise_id", "id"))


class SupportRequest(Model):
    """A case for staff, carrying what failed so nobody has to ask again."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(db_index=True)
    kind = fields.CharField(max_length=40)
    track = fields.CharField(max_length=4, null=True)
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default="open")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "support_request"


class InvoiceProfile(Model):
    """Invoice details a payer confirmed once (R-PAY-1), reused and editable."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(unique=True)
    title = fields.CharField(max_length=100)
    taxpayer_id = fields.CharField(max_length=20, null=True)
    email = fields.CharField(max_length=100, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "invoice_profile"


class Order(Model):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    payer_chat_user_id = fields.BigIntField(db_index=True)
    channel = fields.CharField(max_length=16)
    enterprise: fields.ForeignKeyNullableRelation[Enterprise] = fields.ForeignKeyField(
        "jijiao.Enterprise", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    amount_fen = fields.IntField()
    status = fields.CharField(max_length=10, db_index=True)
    provider = fields.CharField(max_length=16)
    pay_url = fields.TextField(default="")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    warned_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    transaction_id = fields.CharField(max_length=64, null=True)
    invoice_title = fields.CharField(max_length=100)
    invoice_taxpayer_id = fields.CharField(max_length=20, null=True)
    invoice_email = fields.CharField(max_length=100, null=True)
    invoice_due_on = fields.DateField(null=True, db_index=True)
    invoice_file_id = fields.CharField(max_length=255, null=True)
    invoice_sent_at = fields.DatetimeField(null=True)
    items: fields.ReverseRelation[OrderItem]

    class Meta:
        table = "payment_order"
        indexes = (("enterprise_id",),)


class OrderItem(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "jijiao.Order", related_name="items", on_delete=fields.CASCADE
    )
    enrolment: fields.ForeignKeyRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="order_items", on_delete=fields.CASCADE
    )
    enrolment_id: int
    amount_fen = fields.IntField()

    class Meta:
        table = "order_item"
        indexes = (("order_id",), ("enrolment_id",))


class PaymentLog(Model):
    """Every word a provider said about an order, and what it did: the audit trail."""

    id = fields.IntField(primary_key=True)
    order_number = fields.CharField(max_length=32, db_index=True)
    provider = fields.CharField(max_length=16)
    source = fields.CharField(max_length=16)  # notification | query
    outcome = fields.CharField(max_length=16)
    transaction_id = fields.CharField(max_length=64, null=True)
    amount_fen = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_log"


class SandboxPayment(Model):
    """The sandbox provider's own ledger: what it would know as a real payment service."""

    id = fields.IntField(primary_key=True)
    order_number = fields.CharField(max_length=32, unique=True)
    amount_fen = fields.IntField()
    expires_at = fields.DatetimeField()
    state = fields.CharField(max_length=10)  # open | paid | closed
    transaction_id = fields.CharField(max_length=64, null=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sandbox_payment"


class SupportTicket(Model):
    """One forum topic per trainee in the staff group."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(unique=True)
    thread_id = fields.BigIntField(null=True, db_index=True)
    # The staff group the topic is in (its desk's, STAFF_DESK_GROUPS); None: the staff group.
    group_id = fields.BigIntField(null=True)
    topic_name = fields.CharField(max_length=128, default="")
    status = fields.CharField(max_length=8, default="open")  # open | closed
    banned = fields.BooleanField(default=False)
    card_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_at = fields.DatetimeField(null=True)
    # While set and in the future, one sender (of any instance) is relaying the queue below.
    relay_until = fields.DatetimeField(null=True)

    class Meta:
        table = "support_ticket"


class SupportMessage(Model):
    """The desk's own record of a support conversation, whichever channel it came from: what the
    person sent (in) and staff's answers (out), so the staff console can hold every conversation
    (a WeChat user's cannot be copied into a Telegram topic). Sealed like ID numbers: a support
    conversation may hold one, kept as typed."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(db_index=True)
    direction = fields.CharField(max_length=4)  # in | out
    text_sealed = fields.TextField()
    at = fields.DatetimeField()
    staff_id = fields.BigIntField(null=True)
    staff_name = fields.CharField(max_length=128, null=True)
    # An answer the person's channel has not taken (WeChat's 48 hours over): kept, not lost.
    delivered = fields.BooleanField(default=True)
    # A message of the person's no delivered answer has followed yet (the console's waiting).
    unanswered = fields.BooleanField(default=False)

    class Meta:
        table = "support_message"


class DeskQueue(Model):
    """A trainee's message on its way to their topic: kept until it is there, then deleted, so
    a burst arrives whole and in order (by the chat's message id), whatever the group's rate
    limit and whichever instance took it. The text is sealed like ID numbers (it may hold one)."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(db_index=True)
    message_id = fields.BigIntField()
    # Plain text messages only, for joining a burst into one message; others are copied.
    text_sealed = fields.TextField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "desk_queue"
        unique_together = (("chat_user_id", "message_id"),)


class RelayedMessage(Model):
    """A message copied between a trainee's private chat and their topic, both ids kept so
    edits and replies follow it."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[SupportTicket] = fields.ForeignKeyField(
        "jijiao.SupportTicket", related_name="messages", on_delete=fields.CASCADE
    )
    direction = fields.CharField(max_length=4)  # in (trainee → staff) | out
    private_message_id = fields.BigIntField(db_index=True)
    group_message_id = fields.BigIntField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "relayed_message"
        indexes = (("ticket_id",),)


class Application(Model):
    """An extension or make-up application (R-EXT-1..3) and the one decision that counts."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=10)  # extension | makeup
    enrolment: fields.ForeignKeyRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="applications", on_delete=fields.CASCADE
    )
    chat_user_id = fields.BigIntField(db_index=True)
    status = fields.CharField(max_length=10, default="pending", db_index=True)
    form_file_id = fields.CharField(max_length=255, null=True)
    staff_message_id = fields.BigIntField(null=True)
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    reason = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "application"
        indexes = (("enrolment_id",),)


class AuditLog(Model):
    """Who did what to whom, when and why: staff decisions, photo views, rebinding."""

    id = fields.IntField(primary_key=True)
    actor_id = fields.BigIntField(db_index=True)
    action = fields.CharField(max_length=40)
    subject = fields.CharField(max_length=64)
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"


class Broadcast(Model):
    """A staff message to an audience, sent through the outbox at Telegram's pace."""

    id = fields.IntField(primary_key=True)
    created_by = fields.BigIntField()
    audience: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    text = fields.TextField()
    photo_file_id = fields.CharField(max_length=255, null=True)
    status = fields.CharField(max_length=10, default="draft")  # draft|running|paused|cancelled|done
    progress_chat_id = fields.BigIntField(null=True)
    progress_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "broadcast"


class Outbox(Model):
    """A message to send, durable before it is sent: reminders and broadcasts.

    `dedup_key` (recipient, kind, deadline, step) makes enqueueing idempotent."""

    id = fields.BigIntField(primary_key=True)
    chat_id = fields.BigIntField(db_index=True)
    kind = fields.CharField(max_length=32)
    dedup_key = fields.CharField(max_length=160, unique=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    essential = fields.BooleanField(default=True)
    status = fields.CharField(max_length=12, default="pending")
    attempts = fields.IntField(default=0)
    not_before = fields.DatetimeField()
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    telegram_message_id = fields.BigIntField(null=True)
    error = fields.TextField(null=True)
    broadcast: fields.ForeignKeyNullableRelation[Broadcast] = fields.ForeignKeyField(
        "jijiao.Broadcast", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox"
        indexes = (("status", "not_before"), ("broadcast_id",))


class UpdateInbox(Model):
    """A Telegram update, stored before Telegram hears that it arrived (bot/inbox.py): the
    instance that stored it handles it at once under a lease, and if that instance dies, the
    lease runs out and any instance handles it. Rows done are kept a while, so a redelivery
    finds its update already there, then pruned."""

    id = fields.BigIntField(primary_key=True)
    # Update ids are a bot's own: a new bot token starts another sequence.
    bot_id = fields.BigIntField()
    update_id = fields.BigIntField()
    # The update's JSON, sealed (infra.pii): a trainee's message may hold an ID number.
    payload_sealed = fields.TextField()
    received_at = fields.DatetimeField()
    attempts = fields.IntField(default=1)
    claimed_by = fields.CharField(max_length=64)
    claimed_until = fields.DatetimeField()
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "update_inbox"
        unique_together = (("bot_id", "update_id"),)
        indexes = (("done_at", "claimed_until"),)


class StaffSignIn(Model):
    """A staff console sign-in link, used: each link signs in once (a link forwarded or left
    in a chat's history is worth nothing after)."""

    id = fields.IntField(primary_key=True)
    nonce = fields.CharField(max_length=32, unique=True)
    staff_id = fields.BigIntField()
    used_at = fields.DatetimeField()

    class Meta:
        table = "staff_sign_in"


class PhoneCode(Model):
    """The SMS code live for a phone, and how many were sent to it today (domain.phone_codes):
    one row per phone, locked while a code is sent or checked, so two instances never both
    accept one. The phone and the code are keyed digests only (infra.sms.store)."""

    phone_key = fields.CharField(max_length=64, primary_key=True)
    account_id = fields.BigIntField(null=True)  # whom the live code was sent for
    code_digest = fields.CharField(max_length=64, null=True)
    sent_at = fields.DatetimeField(null=True)
    wrong_tries = fields.IntField(default=0)
    day = fields.DateField(null=True)  # the Beijing day `sends` counts
    sends = fields.IntField(default=0)

    class Meta:
        table = "phone_code"


class SmsQuota(Model):
    """SMS codes an account asked for today (domain.phone_codes: at most 10 a day)."""

    account_id = fields.BigIntField(primary_key=True)
    day = fields.DateField(null=True)
    sends = fields.IntField(default=0)

    class Meta:
        table = "sms_quota"
