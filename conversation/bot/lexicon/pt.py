"""Portuguese cue terms (Portugal and Brazil)."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("pedido*", "encomenda*", "pacote*", "entrega", "compra*", "produto*", "remessa"),
        Cue.OWN: ("meu", "minha", "meus", "minhas"),
        Cue.ORDERED: ("comprei", "encomendei", "pedi", "fiz"),
        Cue.WHERE: ("onde", "cadê", "kd"),
        Cue.WHEN: ("quando", "quanto tempo", "quanto tempo demora", "até quando"),
        Cue.ARRIVE: ("cheg*", "entregue", "entregar", "entregam"),
        Cue.RECEIVE: ("receb*", "veio"),
        Cue.SHIPPED: ("despachad*", "expedid*", "postado", "postada"),
        Cue.SENT: ("enviado", "enviada", "enviaram", "mandaram", "saiu"),
        Cue.SEND: ("enviar", "enviam", "mandar", "mandam"),
        Cue.STATUS: ("status", "estado", "situação", "verificar", "novidades", "novidade", "andamento"),
        Cue.TRACK: ("rastre*", "tracking*", "código de rastreio", "seguimento"),
        # Not "já": it folds to "ja", which is "yes" in Danish, Dutch and German.
        Cue.PENDING: ("ainda", "até agora"),
        Cue.NEG: ("não", "nunca", "nada", "nem"),
        Cue.ONWAY: ("a caminho", "em trânsito", "em rota"),
        Cue.LATE: ("atrasad*", "atraso", "demora", "demorando"),
        Cue.WAIT: ("esperando", "aguardando", "à espera", "espera"),
        Cue.HUMAN: ("atendente*", "humano", "operador*", "agente", "assistente", "gerente"),
        Cue.PERSON: ("pessoa", "alguém", "suporte", "atendimento", "apoio ao cliente"),
        Cue.CONTACT: ("falar", "ligar", "ligue", "liguem", "contatar", "contactar", "passa", "passar",
                      "transferir", "conversar"),
        Cue.CALLBACK: ("me liga", "me ligue", "me liguem", "liguem-me", "ligue-me", "ligar-me"),
        Cue.BOT: ("bot", "chatbot", "robô", "robo"),
        Cue.REAL: ("de verdade", "real", "verdadeira"),
        Cue.WANT: ("quero", "queria", "preciso", "gostaria", "posso"),
        Cue.ACTION: ("devol*", "reembols*", "estorno", "cancel*", "troc*", "endereço", "nota fiscal",
                     "fatura", "mudar", "alterar", "cupom", "cupão", "desconto", "reclamação", "adicionar",
                     "acrescentar", "remover"),
        Cue.PROBLEM: ("danificad*", "quebrad*", "errad*", "defeito*", "defeituos*", "falta", "roubad*",
                      "extraviad*", "perdid*", "incorret*"),
        Cue.NEUTRAL: ("onde posso", "onde encontro", "onde vejo", "onde fica", "quanto custa"),
        Cue.GREETING: ("olá", "oi", "obrigado", "obrigada", "por favor", "bom dia", "boa tarde",
                       "boa noite", "pf"),
    },
    stopwords="""
        o a os as um uma uns umas e ou mas se de do da dos das em no na nos nas por para com sem
        eu tu você voce ele ela nós vocês eles elas me te lhe nos seu sua seus suas
        é são era foi ser estar está estão estou tenho tem têm pode podem vai vão há
        que quem como qual este esta isto esse essa isso aqui muito mais já não sim ok
        """,
)
