"""The cue vocabulary: what a lexicon word tells the intent rules (one meaning per cue)."""

from __future__ import annotations

from enum import StrEnum


class Cue(StrEnum):
    """A unit of meaning a lexicon term signals; intents.py combines cues into decisions."""

    # --- what the message is about (the order reference) ---
    ORDER = "order"  # order, parcel, delivery, bestelling, заказ ...
    OWN = "own"  # my, mijn, min, mein, мой, mi, mon, meu
    ORDERED = "ordered"  # I ordered / bought: refers to the customer's own purchase

    # --- delivery-status questions ---
    WHERE = "where"  # where is ..., waar blijft, wo bleibt, где
    WHEN = "when"  # when, how long
    # Event verbs are a delivery question only when qualified (intents._EVENT_QUALIFIERS).
    ARRIVE = "arrive"  # arrive, deliver, llegar, chegar: also qualified by being asked ("will it arrive?")
    RECEIVE = "receive"  # get, come, receive, krijgen, bekommen: too common to count inside any question
    SENT = "sent"  # sent, verstuurd, enviado: the order's state, also qualified by being asked
    SEND = "send"  # send, enviar, envoyer: a request ("send me the invoice"), only with WHEN
    SHIPPED = "shipped"  # delivery-specific "shipped / dispatched": a cue on its own
    STATUS = "status"  # status, update, news, check
    TRACK = "track"  # tracking number, track & trace, sporing, отследить
    PENDING = "pending"  # yet, still, already
    NEG = "neg"  # not, never, nothing
    ONWAY = "onway"  # on its way, onderweg, unterwegs, в пути
    LATE = "late"  # late, delayed
    WAIT = "wait"  # waiting for

    # --- asking for a person ---
    HUMAN = "human"  # agent, human, operator, medewerker, Mitarbeiter, оператор: enough on its own
    PERSON = "person"  # person, someone, customer service: needs a verb, "real", a refusal or a short text
    CONTACT = "contact"  # talk, speak, call, connect
    CALLBACK = "callback"  # call me (back): a request for a person on its own
    BOT = "bot"  # bot, robot
    REAL = "real"  # real, live, echte, живой
    WANT = "want"  # want, would like, need

    # --- other topics: an order question mixed with these needs a person ---
    ACTION = "action"  # return, refund, cancel, exchange, change address, invoice, discount
    PROBLEM = "problem"  # damaged, wrong item, broken, missing, stolen

    # --- words that only absorb shorter matches ("where can I find" is not "where is") ---
    NEUTRAL = "neutral"
    GREETING = "greeting"  # hi, please, thanks: ignored when deciding if a message is only an order number


#: Cues that make a message refer to an order (on their own or with OWN).
REFERENCE_CUES = frozenset({Cue.ORDER, Cue.ORDERED})
