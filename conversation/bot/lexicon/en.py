"""English cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("order", "orders", "order no", "package", "packages", "parcel", "parcels", "delivery",
                    "shipment", "purchase", "stuff", "items", "goods"),
        Cue.OWN: ("my", "mine"),
        Cue.ORDERED: ("ordered", "bought", "purchased", "placed"),
        Cue.WHERE: ("where", "wheres", "whereabouts"),
        Cue.WHEN: ("when", "how long", "how much longer", "what day"),
        Cue.ARRIVE: ("arrive*", "deliver", "delivered", "turn up", "turned up", "turns up", "show up",
                     "showed up", "shown up", "shows up"),
        Cue.RECEIVE: ("receive*", "recieve*", "get", "got", "gotten", "come", "comes", "coming", "came",
                      "here"),
        Cue.SHIPPED: ("shipped", "dispatched", "sent out", "posted out"),
        Cue.SENT: ("ship", "ships", "sent", "left"),
        Cue.SEND: ("send", "sending", "dispatch", "post"),
        Cue.STATUS: ("status", "update", "updates", "news", "check", "progress", "how far", "eta"),
        Cue.TRACK: ("track", "tracking", "trace", "tracking number", "tracking link", "tracking code"),
        Cue.PENDING: ("yet", "still", "already"),
        Cue.NEG: ("not", "no", "never", "nothing", "hasn", "hasnt", "haven", "havent", "hadn", "didn",
                  "didnt", "isn", "isnt", "wasn", "wasnt", "aren", "arent", "don", "dont", "doesn",
                  "doesnt", "won", "wont"),
        Cue.ONWAY: ("on its way", "on the way", "in transit", "out for delivery", "en route"),
        Cue.LATE: ("late", "delayed", "delay", "overdue", "taking forever", "taking so long"),
        Cue.WAIT: ("waiting", "wait", "waited"),
        Cue.HUMAN: ("agent", "agents", "human", "humans", "operator", "representative", "rep", "manager",
                    "supervisor", "staff", "live chat", "real person"),
        Cue.PERSON: ("person", "someone", "somebody", "anyone", "anybody", "people", "customer service",
                     "customer support", "support team", "support"),
        Cue.CONTACT: ("talk", "speak", "chat with", "call", "phone", "ring", "connect", "transfer",
                      "contact", "reach", "put me through"),
        Cue.CALLBACK: ("call me", "call me back", "phone me", "ring me", "callback", "call back"),
        Cue.BOT: ("bot", "chatbot", "robot"),
        Cue.REAL: ("real", "live", "actual"),
        Cue.WANT: ("want", "would like", "like to", "need", "let me", "get me", "can i"),
        Cue.ACTION: ("return*", "refund*", "cancel*", "exchange*", "swap", "money back", "address",
                     "invoice", "receipt", "change", "discount", "coupon", "promo", "voucher",
                     "gift card", "password", "unsubscribe", "complain*", "add", "remove"),
        Cue.PROBLEM: ("damaged", "broken", "wrong", "defective", "faulty", "missing", "stolen", "lost",
                      "torn", "scratched", "only got"),
        Cue.NEUTRAL: ("where can", "where do", "where does", "where should", "where to", "how much",
                      "how many"),
        Cue.GREETING: ("hi", "hello", "hey", "please", "pls", "plz", "thanks", "thank", "thx", "ty",
                       "good morning", "good afternoon", "good evening"),
    },
    stopwords="""
        a an the and or but if of to in on at for from with by about as into than then so too very
        i me we us you your yours he she it its they them their there here this that these those
        is are was were be been being am do does did have has had will would can could should shall
        may might must what whats which who whom whose why how when where all any some no not
        just now also only please thanks hi hello hey yes ok okay
        """,
)
