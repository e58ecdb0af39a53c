"""French cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("commande*", "colis", "livraison*", "achat*", "paquet*", "article*", "envoi"),
        Cue.OWN: ("mon", "ma", "mes"),
        # "commandé" folds to the noun "commande", so the verb is only recognised after its auxiliary.
        Cue.ORDERED: ("ai commandé", "avons commandé", "acheté", "achetée", "passé commande", "passée"),
        # "où" folds to "ou" ("or"), so the bare word is only "where" in these phrases.
        Cue.WHERE: ("où est", "où en", "où sont", "où se trouve", "où se", "où il est", "où elle est"),
        Cue.WHEN: ("quand", "combien de temps", "d'ici quand"),
        Cue.ARRIVE: ("arriv*", "livré", "livrée", "livrés", "livrées", "livrer", "parvenu", "parvenue"),
        Cue.RECEIVE: ("reçu", "reçue", "reçus", "recevoir", "reçois", "recevrai"),
        Cue.SHIPPED: ("expédié", "expédiée", "expédiés", "expédiées"),
        Cue.SENT: ("envoyé", "envoyée", "envoyés", "parti", "partie", "quitté"),
        Cue.SEND: ("envoyer", "envoyez", "expédier", "expédiez"),
        Cue.STATUS: ("statut", "état", "nouvelles", "vérifier", "où en est",
                     "avancement"),
        Cue.TRACK: ("suivi*", "suivre", "tracking*", "traçage", "numéro de suivi"),
        Cue.PENDING: ("encore", "toujours", "tjrs", "déjà", "toujours pas"),
        Cue.NEG: ("pas", "jamais", "rien", "ne", "n", "aucun", "aucune"),
        Cue.ONWAY: ("en route", "en chemin", "en cours de livraison", "en transit",
                    "en cours d'acheminement"),
        Cue.LATE: ("retard", "en retard", "retardé", "retardée"),
        Cue.WAIT: ("attends", "attendre", "attend", "j'attends"),
        Cue.HUMAN: ("conseiller*", "conseillère*", "humain*", "opérateur*", "opératrice", "agent",
                    "responsable"),
        Cue.PERSON: ("personne", "quelqu'un", "service client", "service clientèle", "sav", "support"),
        Cue.CONTACT: ("parler", "appeler", "appelez", "contacter", "joindre", "passez", "passer",
                      "discuter", "échanger avec"),
        Cue.CALLBACK: ("rappel*", "appelez-moi", "appelez moi", "me rappeler", "m'appeler"),
        Cue.BOT: ("bot", "chatbot", "robot"),
        Cue.REAL: ("vraie", "vrai", "réel", "réelle"),
        Cue.WANT: ("veux", "voudrais", "souhaite", "souhaiterais", "besoin", "aimerais"),
        Cue.ACTION: ("retour*", "retourner", "renvoyer", "rembours*", "annul*", "échang*", "adresse",
                     "facture", "code promo", "promo", "réduction", "réclamation", "plainte", "changer",
                     "modifier", "ajouter", "retirer"),
        Cue.PROBLEM: ("endommagé*", "abîmé*", "cassé*", "mauvais*", "défectueu*", "manque", "volé",
                      "perdu", "erreur"),
        Cue.NEUTRAL: ("où puis", "où trouver", "où je peux", "où peut", "combien coûte", "combien"),
        Cue.GREETING: ("bonjour", "salut", "slt", "bonsoir", "merci", "svp", "stp", "s'il vous plaît",
                       "s'il te plaît", "cordialement"),
    },
    stopwords="""
        le la les un une des de du et ou mais si à au aux en dans sur pour par avec sans sous chez
        je tu il elle on nous vous ils elles me te se lui leur mon ma mes ton ta tes son sa ses
        est sont suis es était être ai as a avons avez ont avait fait peux peut pouvez veux
        que qui quoi quel quelle comment pourquoi ce cet cette ces ça ici là très plus ne pas
        oui non ok bonjour merci
        """,
)
