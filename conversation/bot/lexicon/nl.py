"""Dutch cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("bestel*", "order", "orders", "pakket*", "pakje*", "zending", "verzending", "levering",
                    "spullen", "aankoop"),
        Cue.OWN: ("mijn", "mn"),
        Cue.ORDERED: ("besteld", "bestelde", "gekocht", "geplaatst"),
        Cue.WHERE: ("waar", "waar blijft"),
        Cue.WHEN: ("wanneer", "hoelang", "hoe lang", "hoe laat"),
        Cue.ARRIVE: ("aankom*", "aangekomen", "geleverd", "leveren", "bezorg*"),
        Cue.RECEIVE: ("komt", "komen", "kom", "ontvang*", "binnen", "gekregen", "gehad", "krijg", "krijgen",
                      "er is"),
        Cue.SHIPPED: ("verzonden", "verscheept"),
        Cue.SENT: ("verstuurd", "opgestuurd", "weg", "vertrokken", "verlaten"),
        Cue.SEND: ("verzenden", "versturen", "opsturen", "sturen"),
        Cue.STATUS: ("status", "stand", "stand van zaken", "hoe staat het", "update", "nieuws", "nakijken",
                     "checken", "controleren"),
        Cue.TRACK: ("track", "tracking*", "track en trace", "track & trace", "trace*", "volgen", "volgcode"),
        Cue.PENDING: ("al", "nog", "nog steeds", "inmiddels"),
        Cue.NEG: ("niet", "geen", "nooit", "niks", "niets"),
        Cue.ONWAY: ("onderweg", "op weg", "in transit"),
        Cue.LATE: ("te laat", "laat", "vertraagd", "vertraging"),
        Cue.WAIT: ("wacht", "wachten", "gewacht"),
        # Not the stem "medewerk*": "medewerking" is cooperation ("bedankt voor uw medewerking").
        Cue.HUMAN: ("medewerker*", "medewerkster*", "agent", "operator", "klantenservicemedewerker"),
        Cue.PERSON: ("mens", "iemand", "persoon", "klantenservice", "klantendienst", "support"),
        Cue.CONTACT: ("spreken", "praten", "bellen", "bel", "doorverbinden", "verbind", "contact",
                      "chatten"),
        Cue.CALLBACK: ("bel me", "bel mij", "terugbellen", "teruggebeld", "mij bellen", "me bellen"),
        Cue.BOT: ("bot", "chatbot", "robot"),
        Cue.REAL: ("echte", "echt", "levende"),
        Cue.WANT: ("wil", "graag", "mag ik", "zou", "wens"),
        Cue.ACTION: ("retour*", "terugsturen", "terug sturen", "terugbetal*", "geld terug", "annuler*",
                     "ruilen", "omruilen", "adres", "factuur", "wijzigen", "aanpassen", "korting*",
                     "klacht", "afmelden", "wachtwoord", "toevoegen", "verwijderen"),
        Cue.PROBLEM: ("beschadigd", "kapot", "verkeerd*", "defect", "ontbreekt", "gestolen", "kwijt",
                      "stuk"),
        Cue.NEUTRAL: ("waar kan", "waar vind", "waar moet", "hoeveel"),
        Cue.GREETING: ("hoi", "hallo", "hey", "aub", "alstublieft", "alsjeblieft", "graag", "bedankt",
                       "dank", "dankjewel", "goedemorgen", "goedemiddag", "goedenavond"),
    },
    stopwords="""
        de het een en of maar als dan van in op aan met voor naar bij uit door over om tot
        ik je jij u we wij ze zij hij het mij me ons jullie hun haar zijn is was ben bent zijn waren
        heb hebt heeft hebben had kan kun kunt kunnen wil wilt willen moet moeten zal zou wordt worden
        dit dat die deze er hier daar wat wie welk welke hoe waarom wel niet geen ook nog al
        ja nee ok oke hoi hallo
        """,
)
