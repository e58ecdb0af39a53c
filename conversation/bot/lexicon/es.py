"""Spanish cue terms."""

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LanguageLexicon

LEXICON = LanguageLexicon(
    cues={
        Cue.ORDER: ("pedido*", "paquete*", "envío", "compra*", "encomienda", "entrega", "productos"),
        Cue.OWN: ("mi", "mis"),
        Cue.ORDERED: ("pedí", "compré", "compramos", "hice", "encargué", "realicé"),
        Cue.WHERE: ("dónde", "adónde"),
        Cue.WHEN: ("cuándo", "cuánto tarda", "cuánto falta", "cuánto tiempo"),
        Cue.ARRIVE: ("lleg*", "entreg*"),
        Cue.RECEIVE: ("recib*", "viene"),
        Cue.SHIPPED: ("despachado", "despachada", "despacharon", "expedido"),
        Cue.SENT: ("enviado", "enviada", "enviaron", "mandaron", "salió"),
        Cue.SEND: ("envían", "enviar", "envíen", "mandan", "mandar", "mandarán", "enviarán"),
        Cue.STATUS: ("estado", "status", "novedades", "revisar", "comprobar", "consultar", "cómo va"),
        Cue.TRACK: ("seguimiento", "rastre*", "tracking*", "localizar"),
        Cue.PENDING: ("ya", "todavía", "aún", "sigue", "hasta ahora"),
        Cue.NEG: ("no", "nunca", "nada", "sin"),
        Cue.ONWAY: ("en camino", "de camino", "en tránsito", "en reparto"),
        Cue.LATE: ("retraso", "retrasado", "retrasada", "demora", "demorado", "atrasado"),
        Cue.WAIT: ("esperando", "espera", "esperar"),
        Cue.HUMAN: ("agente", "humano", "operador*", "asesor*", "encargado", "gerente", "supervisor"),
        Cue.PERSON: ("persona", "alguien", "atención al cliente", "servicio al cliente", "soporte"),
        Cue.CONTACT: ("hablar", "llamar", "contactar", "comunicar*", "pasar con", "páseme", "pásame",
                      "atender", "atienda"),
        Cue.CALLBACK: ("llámenme", "llámame", "llámeme", "me llamen", "me llaman", "me llamas",
                       "me pueden llamar"),
        Cue.BOT: ("bot", "chatbot", "robot"),
        Cue.REAL: ("real", "de verdad", "de carne y hueso"),
        Cue.WANT: ("quiero", "quisiera", "necesito", "me gustaría", "puedo"),
        Cue.ACTION: ("devol*", "devuelv*", "reembols*", "cancel*", "anular", "cambiar", "cambio",
                     "dirección", "factura", "descuento", "cupón", "código de descuento", "queja",
                     "reclamación", "reclamo", "añadir", "agregar", "quitar"),
        Cue.PROBLEM: ("dañado", "dañada", "roto", "rota", "equivocad*", "defectuos*", "falta", "robado",
                      "perdido", "incorrecto", "incorrecta"),
        Cue.NEUTRAL: ("dónde puedo", "dónde encuentro", "cuánto cuesta", "cuántos"),
        Cue.GREETING: ("hola", "gracias", "muchas gracias", "por favor", "buenas", "buenos días",
                       "buenas tardes", "buenas noches", "saludos"),
    },
    stopwords="""
        el la los las un una unos unas y o pero si de del al a en con por para sin sobre entre
        yo tú tu él ella nosotros ustedes ellos ellas me te se le les lo nos mi su sus
        es son era fue ser estar está están estoy he ha han hay tengo tiene tienen puede pueden
        que qué como cómo cuando cuál quién este esta esto ese esa eso aquí muy más ya no sí
        hola gracias ok vale
        """,
)
