"""German cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("bestell*", "paket*", "päckchen", "lieferung*", "sendung", "ware", "auftrag*",
                    "versand", "einkauf"),
        Cue.OWN: ("mein", "meine", "meiner", "meinen", "meinem", "meines"),
        Cue.ORDERED: ("bestellt", "bestellte", "gekauft", "aufgegeben"),
        Cue.WHERE: ("wo", "wo bleibt", "wo steckt"),
        Cue.WHEN: ("wann", "wie lange", "bis wann"),
        Cue.ARRIVE: ("ankomm*", "angekommen", "ankommt", "geliefert", "zugestellt", "eingetroffen",
                     "liefern"),
        Cue.RECEIVE: ("kommt", "kommen", "kam", "erhalten", "bekommen", "nicht da"),
        Cue.SHIPPED: ("versandt", "versendet", "verschickt", "rausgegangen"),
        Cue.SENT: ("geschickt", "abgeschickt", "raus", "losgeschickt", "verlassen"),
        Cue.SEND: ("schicken", "senden", "versenden", "verschicken"),
        Cue.STATUS: ("status", "stand", "update", "neuigkeiten", "nachschauen", "nachsehen", "prüfen",
                     "checken"),
        Cue.TRACK: ("sendungsverfolgung", "sendungsnummer", "tracking*", "trackingnummer", "verfolg*",
                    "track*"),
        Cue.PENDING: ("schon", "noch", "immer noch", "bereits", "inzwischen"),
        # "nicht da" is listed twice: a phrase absorbs the shorter matches inside it, so it must carry
        # the negation itself.
        Cue.NEG: ("nicht", "nie", "kein", "keine", "keinen", "nichts", "nicht da"),
        Cue.ONWAY: ("unterwegs", "auf dem weg"),
        Cue.LATE: ("verspätet", "verspätung", "verzögert", "verzögerung", "zu spät", "überfällig"),
        Cue.WAIT: ("warte", "warten", "gewartet"),
        Cue.HUMAN: ("mitarbeiter*", "berater*", "sachbearbeiter*", "agent", "operator", "kundenberater*"),
        Cue.PERSON: ("mensch*", "jemand*", "person", "kundenservice", "kundendienst", "support"),
        Cue.CONTACT: ("sprechen", "reden", "anrufen", "telefonieren", "verbinden", "durchstellen",
                      "kontakt*", "chatten"),
        Cue.CALLBACK: ("ruf mich", "rufen sie mich", "zurückrufen", "rückruf", "mich anrufen"),
        Cue.BOT: ("bot", "chatbot", "roboter"),
        Cue.REAL: ("echte*", "echt", "richtige*", "lebende*"),
        Cue.WANT: ("möchte", "will", "hätte gern", "hätte gerne", "brauche", "bitte"),
        Cue.ACTION: ("rücksendung*", "retoure*", "zurücksenden", "zurückschicken", "zurückgeben",
                     "rückerstattung", "erstatt*", "geld zurück", "stornier*", "storno", "umtausch*",
                     "adresse*", "lieferadresse*", "rechnung*", "ändern", "rabatt*", "gutschein*",
                     "reklamation", "beschwerde", "widerruf*", "hinzufügen", "entfernen"),
        Cue.PROBLEM: ("beschädigt", "kaputt", "falsch*", "defekt", "fehlt", "gestohlen", "verloren",
                      "verschwunden"),
        Cue.NEUTRAL: ("wo kann", "wo finde", "wo muss", "wo soll", "wie viel", "wieviel"),
        Cue.GREETING: ("hallo", "hi", "hey", "moin", "servus", "bitte", "danke", "vielen dank",
                       "guten tag", "guten morgen", "guten abend"),
    },
    stopwords="""
        der die das den dem des ein eine einen einem einer und oder aber wenn dann als wie
        in im an am auf aus bei mit nach von vom zu zum zur für über unter um durch gegen ohne
        ich du er sie es wir ihr mich dich uns euch ihn ihm ihnen mir dir
        ist sind war waren bin bist sein habe hast hat haben hatte kann kannst können muss
        soll wird werden wurde würde will
        nicht auch noch schon nur sehr was wer wo wann warum welche dies diese dieser hier da
        ja nein ok hallo oder denn mal doch
        """,
)
