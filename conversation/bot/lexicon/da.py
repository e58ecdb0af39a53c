"""Danish cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("ordre*", "bestil*", "pakke*", "levering*", "forsendelse*", "varer", "vare",
                    "køb"),
        Cue.OWN: ("min", "mine"),
        Cue.ORDERED: ("bestilt", "bestilte", "købt", "købte"),
        Cue.WHERE: ("hvor", "hvor bliver"),
        Cue.WHEN: ("hvornår", "hvor lang tid", "hvor længe"),
        Cue.ARRIVE: ("ankom*", "leveret", "levere", "dukket op", "frem"),
        Cue.RECEIVE: ("kommer", "kom", "kommet", "modtag*", "fået"),
        Cue.SHIPPED: ("afsendt", "sendt afsted"),
        Cue.SENT: ("sendt", "afsted", "forladt"),
        Cue.SEND: ("sende", "sender"),
        Cue.STATUS: ("status", "opdatering", "nyt", "tjek", "tjekke", "hvor langt"),
        Cue.TRACK: ("tracking*", "track*", "sporing*", "spore", "spor", "trackingnummer"),
        Cue.PENDING: ("endnu", "stadig", "allerede", "stadigvæk"),
        Cue.NEG: ("ikke", "aldrig", "ingen", "intet", "ingenting"),
        Cue.ONWAY: ("på vej", "undervejs"),
        Cue.LATE: ("forsinket", "forsinkelse", "for sent"),
        Cue.WAIT: ("venter", "vente", "ventet"),
        Cue.HUMAN: ("medarbejder*", "menneske*", "agent", "operatør", "kundeservicemedarbejder"),
        Cue.PERSON: ("person", "nogen", "kundeservice*", "support"),
        Cue.CONTACT: ("tale", "snakke", "ringe", "ring", "kontakt*", "videre", "i tale"),
        Cue.CALLBACK: ("ring mig", "ringe mig", "ring til mig", "ringe til mig", "ringe tilbage",
                       "ring tilbage"),
        Cue.BOT: ("bot", "chatbot", "robot"),
        Cue.REAL: ("rigtig*", "levende", "ægte"),
        Cue.WANT: ("vil", "gerne", "kan jeg få", "ønsker"),
        Cue.ACTION: ("retur*", "returnere*", "refusion", "refunder*", "pengene tilbage", "annuller*",
                     "afbestil*", "bytte", "ombytning", "adresse*", "faktura", "ændre", "rabat*", "klage",
                     "tilføje", "fjerne"),
        Cue.PROBLEM: ("beskadiget", "ødelagt", "i stykker", "forkert*", "defekt", "mangler", "stjålet",
                      "bortkommet"),
        Cue.NEUTRAL: ("hvor kan", "hvor finder", "hvor skal", "hvor meget", "hvor mange"),
        Cue.GREETING: ("hej", "hejsa", "hallo", "tak", "tusind tak", "venligst", "mvh", "godmorgen",
                       "goddag"),
    },
    stopwords="""
        og i at en et den det de der som på til med for af fra om men eller hvis så
        jeg du han hun vi i de mig dig os jer dem min din sin vores jeres
        er var være været har havde kan kunne vil ville skal skulle må bliver blev
        ikke også her hvad hvem hvilken hvordan hvorfor nu ja nej ok hej tak
        """,
)
