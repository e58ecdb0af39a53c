"""The bot's default reply templates in each supported language, with str.format named fields."""

# Cyrillic letters and typographic dashes/quotes in the templates are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Mapping

FALLBACK_LANGUAGE = "en"

#: Order statuses with a localised label (``status_<name>`` keys).
ORDER_STATUSES: tuple[str, ...] = (
    "pending", "paid", "fulfilled", "partially_fulfilled", "shipped", "delivered", "cancelled", "refunded",
)

# Per key, the fields it uses; every language must use exactly these (a test checks it).
FIELDS: Mapping[str, frozenset[str]] = {
    "order_status": frozenset({"number", "status"}),  # status: a label from status_label()
    "order_status_carrier": frozenset({"carrier"}),
    "order_status_tracking": frozenset({"tracking_url"}),
    "order_status_carrier_tracking": frozenset({"carrier", "tracking_url"}),
    "order_status_eta": frozenset({"eta"}),
    "several_orders": frozenset({"orders"}),  # orders: order_list_item lines joined by newlines
    "order_list_item": frozenset({"number", "placed_on", "status"}),
    "ask_order_number": frozenset(),
    "order_not_found": frozenset({"number"}),
    "no_orders_found": frozenset(),
    "verify_ownership": frozenset({"number"}),
    "verification_failed": frozenset(),
    "handoff": frozenset(),
    **{f"status_{status}": frozenset() for status in ORDER_STATUSES},
}

#: Every template key, in a stable order.
TEMPLATE_KEYS: tuple[str, ...] = tuple(FIELDS)

# The "not found" replies name the word that reaches a person in each language, so the customer's
# answer is recognised as a handoff by classify().
TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "en": {
        # "is {status}" reads badly in English ("is delivered"), so the label follows a colon.
        "order_status": "Here's the latest on your order {number}: {status}.",
        "order_status_carrier": "It was sent with {carrier}.",
        "order_status_tracking": "You can follow it here: {tracking_url}",
        "order_status_carrier_tracking": (
            "It was sent with {carrier}, and you can follow it here: {tracking_url}"
        ),
        "order_status_eta": "Expected delivery: {eta}.",
        "several_orders": (
            "I found a few recent orders:\n{orders}\nWhich one is it about? Just send me the order number."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "Happy to check! What's your order number? You'll find it in your order confirmation email."
        ),
        "order_not_found": (
            "Hmm, I can't find order {number}. Could you double-check the number? Or type \"agent\" and a "
            "colleague will take it from here."
        ),
        "no_orders_found": (
            "I couldn't find any recent orders for you. Type \"agent\" and a colleague will help you."
        ),
        "verify_ownership": (
            "Before I share any details: which email address or postcode did you use for order {number}?"
        ),
        "verification_failed": (
            "Sorry, that doesn't match what we have on file. A colleague will take over and reply shortly."
        ),
        "handoff": "Thanks for your message! A human colleague will reply shortly.",
        "status_pending": "being processed",
        "status_paid": "paid and being prepared",
        "status_fulfilled": "shipped",
        "status_partially_fulfilled": "partly shipped",
        "status_shipped": "on its way",
        "status_delivered": "delivered",
        "status_cancelled": "cancelled",
        "status_refunded": "refunded",
    },
    "nl": {
        "order_status": "Je bestelling {number} is {status}.",
        "order_status_carrier": "Je pakket is verzonden met {carrier}.",
        "order_status_tracking": "Je kunt je pakket hier volgen: {tracking_url}",
        "order_status_carrier_tracking": (
            "Je pakket is verzonden met {carrier}. Volg het hier: {tracking_url}"
        ),
        "order_status_eta": "Verwachte bezorging: {eta}.",
        "several_orders": (
            "Ik zie een paar recente bestellingen:\n{orders}\nOver welke gaat het? Stuur me gerust het "
            "bestelnummer."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "Ik kijk het graag voor je na! Wat is je bestelnummer? Je vindt het in de bevestigingsmail van "
            "je bestelling."
        ),
        "order_not_found": (
            "Ik kan bestelling {number} helaas niet vinden. Klopt het nummer? Typ anders \"medewerker\" en "
            "een collega helpt je verder."
        ),
        "no_orders_found": (
            "Ik kan geen recente bestellingen van je vinden. Typ \"medewerker\" en een collega helpt je "
            "verder."
        ),
        "verify_ownership": (
            "Even checken voordat ik details deel: met welk e-mailadres of welke postcode heb je bestelling "
            "{number} geplaatst?"
        ),
        "verification_failed": (
            "Sorry, dat komt niet overeen met onze gegevens. Een collega neemt het over en reageert zo snel "
            "mogelijk."
        ),
        "handoff": "Bedankt voor je bericht! Een collega van de klantenservice reageert zo snel mogelijk.",
        "status_pending": "in behandeling",
        "status_paid": "betaald en wordt klaargemaakt",
        "status_fulfilled": "verzonden",
        "status_partially_fulfilled": "gedeeltelijk verzonden",
        "status_shipped": "onderweg",
        "status_delivered": "bezorgd",
        "status_cancelled": "geannuleerd",
        "status_refunded": "terugbetaald",
    },
    "da": {
        "order_status": "Din ordre {number} er {status}.",
        "order_status_carrier": "Den er sendt med {carrier}.",
        "order_status_tracking": "Du kan følge den her: {tracking_url}",
        "order_status_carrier_tracking": (
            "Den er sendt med {carrier}, og du kan følge den her: {tracking_url}"
        ),
        "order_status_eta": "Forventet levering: {eta}.",
        "several_orders": (
            "Jeg kan se flere nye ordrer:\n{orders}\nHvilken drejer det sig om? Skriv bare ordrenummeret."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "Det kigger jeg gerne på! Hvad er dit ordrenummer? Du finder det i din ordrebekræftelse på mail."
        ),
        "order_not_found": (
            "Jeg kan desværre ikke finde ordre {number}. Vil du tjekke nummeret? Eller skriv "
            "\"medarbejder\", så hjælper en kollega dig videre."
        ),
        "no_orders_found": (
            "Jeg kan ikke finde nogen nye ordrer hos dig. Skriv \"medarbejder\", så hjælper en kollega dig "
            "videre."
        ),
        "verify_ownership": (
            "Inden jeg deler detaljer: Hvilken mailadresse eller hvilket postnummer brugte du til ordre "
            "{number}?"
        ),
        "verification_failed": (
            "Beklager, det passer ikke med de oplysninger, vi har. En kollega tager over og svarer dig "
            "snarest."
        ),
        "handoff": "Tak for din besked! En af vores medarbejdere svarer dig snarest.",
        "status_pending": "under behandling",
        "status_paid": "betalt og ved at blive pakket",
        "status_fulfilled": "afsendt",
        "status_partially_fulfilled": "delvist afsendt",
        "status_shipped": "på vej",
        "status_delivered": "leveret",
        "status_cancelled": "annulleret",
        "status_refunded": "refunderet",
    },
    "de": {
        "order_status": "Deine Bestellung {number} ist {status}.",
        "order_status_carrier": "Sie wurde mit {carrier} verschickt.",
        "order_status_tracking": "Hier kannst du sie verfolgen: {tracking_url}",
        "order_status_carrier_tracking": (
            "Sie wurde mit {carrier} verschickt – hier kannst du sie verfolgen: {tracking_url}"
        ),
        "order_status_eta": "Voraussichtliche Zustellung: {eta}.",
        "several_orders": (
            "Ich habe mehrere aktuelle Bestellungen gefunden:\n{orders}\nUm welche geht es? Schick mir "
            "einfach die Bestellnummer."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "Ich schaue gern nach! Wie lautet deine Bestellnummer? Du findest sie in deiner "
            "Bestellbestätigung per E-Mail."
        ),
        "order_not_found": (
            "Ich kann die Bestellung {number} leider nicht finden. Magst du die Nummer noch einmal prüfen? "
            "Oder schreib „Mitarbeiter“, dann hilft dir jemand aus unserem Team weiter."
        ),
        "no_orders_found": (
            "Ich kann keine aktuellen Bestellungen von dir finden. Schreib „Mitarbeiter“, dann hilft dir "
            "jemand aus unserem Team weiter."
        ),
        "verify_ownership": (
            "Bevor ich Details nenne: Mit welcher E-Mail-Adresse oder Postleitzahl hast du die Bestellung "
            "{number} aufgegeben?"
        ),
        "verification_failed": (
            "Das stimmt leider nicht mit unseren Daten überein. Jemand aus unserem Team übernimmt und meldet "
            "sich in Kürze."
        ),
        "handoff": "Danke für deine Nachricht! Jemand aus unserem Team meldet sich in Kürze bei dir.",
        "status_pending": "in Bearbeitung",
        "status_paid": "bezahlt und wird vorbereitet",
        "status_fulfilled": "versandt",
        "status_partially_fulfilled": "teilweise versandt",
        "status_shipped": "unterwegs",
        "status_delivered": "zugestellt",
        "status_cancelled": "storniert",
        "status_refunded": "erstattet",
    },
    "ru": {
        "order_status": "Статус заказа {number}: {status}.",
        "order_status_carrier": "Служба доставки: {carrier}.",
        "order_status_tracking": "Отследить посылку можно здесь: {tracking_url}",
        "order_status_carrier_tracking": (
            "Служба доставки: {carrier}. Отследить посылку можно здесь: {tracking_url}"
        ),
        "order_status_eta": "Ожидаемая дата доставки: {eta}.",
        "several_orders": (
            "Нашлось несколько недавних заказов:\n{orders}\nО каком из них речь? Просто пришлите номер "
            "заказа."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "С радостью проверю! Подскажите, пожалуйста, номер заказа — он есть в письме с подтверждением "
            "заказа."
        ),
        "order_not_found": (
            "К сожалению, заказ {number} не найден. Проверьте, пожалуйста, номер. Или напишите «оператор» — "
            "и вам поможет наш сотрудник."
        ),
        "no_orders_found": (
            "Не удалось найти ваши недавние заказы. Напишите «оператор» — и вам поможет наш сотрудник."
        ),
        "verify_ownership": (
            "Прежде чем рассказать подробности: укажите, пожалуйста, email или почтовый индекс, указанные в "
            "заказе {number}."
        ),
        "verification_failed": (
            "К сожалению, данные не совпадают. Наш сотрудник подключится и скоро вам ответит."
        ),
        "handoff": "Спасибо за сообщение! Наш сотрудник скоро вам ответит.",
        "status_pending": "в обработке",
        "status_paid": "оплачен, готовим к отправке",
        "status_fulfilled": "передан в доставку",
        "status_partially_fulfilled": "частично отправлен",
        "status_shipped": "в пути",
        "status_delivered": "доставлен",
        "status_cancelled": "отменён",
        "status_refunded": "деньги возвращены",
    },
    "es": {
        "order_status": "Tu pedido {number} está {status}.",
        "order_status_carrier": "Lo hemos enviado con {carrier}.",
        "order_status_tracking": "Puedes seguirlo aquí: {tracking_url}",
        "order_status_carrier_tracking": (
            "Lo hemos enviado con {carrier} y puedes seguirlo aquí: {tracking_url}"
        ),
        "order_status_eta": "Entrega prevista: {eta}.",
        "several_orders": (
            "He encontrado varios pedidos recientes:\n{orders}\n¿De cuál se trata? Envíame el número de "
            "pedido."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "¡Claro, lo miro! ¿Cuál es tu número de pedido? Lo encontrarás en el correo de confirmación del "
            "pedido."
        ),
        "order_not_found": (
            "Vaya, no encuentro el pedido {number}. ¿Puedes revisar el número? O escribe «agente» y un "
            "compañero te ayudará."
        ),
        "no_orders_found": (
            "No encuentro pedidos recientes a tu nombre. Escribe «agente» y un compañero te ayudará."
        ),
        "verify_ownership": (
            "Antes de darte detalles: ¿con qué correo electrónico o código postal hiciste el pedido "
            "{number}?"
        ),
        "verification_failed": (
            "Lo siento, no coincide con nuestros datos. Un compañero se encargará y te responderá en breve."
        ),
        "handoff": "¡Gracias por tu mensaje! Un compañero del equipo te responderá en breve.",
        "status_pending": "en proceso",
        "status_paid": "pagado y en preparación",
        "status_fulfilled": "enviado",
        "status_partially_fulfilled": "enviado parcialmente",
        "status_shipped": "en camino",
        "status_delivered": "entregado",
        "status_cancelled": "cancelado",
        "status_refunded": "reembolsado",
    },
    "fr": {
        "order_status": "Votre commande {number} est {status}.",
        "order_status_carrier": "Elle a été expédiée avec {carrier}.",
        "order_status_tracking": "Vous pouvez la suivre ici : {tracking_url}",
        "order_status_carrier_tracking": (
            "Elle a été expédiée avec {carrier}, vous pouvez la suivre ici : {tracking_url}"
        ),
        "order_status_eta": "Livraison prévue : {eta}.",
        "several_orders": (
            "J'ai trouvé plusieurs commandes récentes :\n{orders}\nDe laquelle s'agit-il ? Envoyez-moi "
            "simplement le numéro de commande."
        ),
        "order_list_item": "• {number} ({placed_on}) : {status}",
        "ask_order_number": (
            "Je regarde ça avec plaisir ! Quel est votre numéro de commande ? Vous le trouverez dans "
            "l'e-mail de confirmation de commande."
        ),
        "order_not_found": (
            "Je ne trouve pas la commande {number}. Pouvez-vous vérifier le numéro ? Sinon, écrivez « "
            "conseiller » et un membre de l'équipe prendra le relais."
        ),
        "no_orders_found": (
            "Je ne trouve aucune commande récente à votre nom. Écrivez « conseiller » et un membre de "
            "l'équipe prendra le relais."
        ),
        "verify_ownership": (
            "Avant de vous donner les détails : quelle adresse e-mail ou quel code postal avez-vous utilisé "
            "pour la commande {number} ?"
        ),
        "verification_failed": (
            "Désolé, cela ne correspond pas à nos informations. Un conseiller prend le relais et vous "
            "répondra très vite."
        ),
        "handoff": "Merci pour votre message ! Un conseiller vous répondra très vite.",
        "status_pending": "en cours de traitement",
        "status_paid": "payée et en préparation",
        "status_fulfilled": "expédiée",
        "status_partially_fulfilled": "partiellement expédiée",
        "status_shipped": "en cours de livraison",
        "status_delivered": "livrée",
        "status_cancelled": "annulée",
        "status_refunded": "remboursée",
    },
    # Worded to read naturally in both Portugal and Brazil ("pedido", "atendente", no "equipa/equipe").
    "pt": {
        "order_status": "O seu pedido {number} está {status}.",
        "order_status_carrier": "Foi enviado pela transportadora {carrier}.",
        "order_status_tracking": "Pode acompanhá-lo aqui: {tracking_url}",
        "order_status_carrier_tracking": (
            "Foi enviado pela transportadora {carrier} e pode acompanhá-lo aqui: {tracking_url}"
        ),
        "order_status_eta": "Previsão de entrega: {eta}.",
        "several_orders": (
            "Encontrei vários pedidos recentes:\n{orders}\nDe qual se trata? Envie-me o número do pedido."
        ),
        "order_list_item": "• {number} ({placed_on}): {status}",
        "ask_order_number": (
            "Claro, eu verifico! Qual é o número do seu pedido? Está no e-mail de confirmação da compra."
        ),
        "order_not_found": (
            "Não encontrei o pedido {number}. Pode confirmar o número? Ou escreva \"atendente\" e um dos "
            "nossos atendentes vai ajudar."
        ),
        "no_orders_found": (
            "Não encontrei pedidos recentes em seu nome. Escreva \"atendente\" e um dos nossos atendentes "
            "vai ajudar."
        ),
        "verify_ownership": (
            "Antes de passar os detalhes: qual é o e-mail ou o código postal (CEP) que usou no pedido "
            "{number}?"
        ),
        "verification_failed": (
            "Desculpe, isso não corresponde aos dados do pedido. Um dos nossos atendentes vai assumir e "
            "responder em breve."
        ),
        "handoff": "Obrigado pela sua mensagem! Um dos nossos atendentes vai responder em breve.",
        "status_pending": "em processamento",
        "status_paid": "pago e em preparação",
        "status_fulfilled": "enviado",
        "status_partially_fulfilled": "parcialmente enviado",
        "status_shipped": "a caminho",
        "status_delivered": "entregue",
        "status_cancelled": "cancelado",
        "status_refunded": "reembolsado",
    },
}

#: The languages with their own templates.
LANGUAGES: tuple[str, ...] = tuple(TEMPLATES)


def render(key: str, language: str, **fields: str) -> str:
    """Render template ``key`` in ``language`` (English when the language has no templates).

    Raises:
        KeyError: for an unknown key, or a field the template needs that is not given.
    """
    if key not in FIELDS:
        raise KeyError(f"unknown template {key!r}")
    return TEMPLATES.get(language, TEMPLATES[FALLBACK_LANGUAGE])[key].format(**fields)


def status_label(status: str, language: str) -> str:
    """The localised label of an order status (one of :data:`ORDER_STATUSES`)."""
    return render(f"status_{status}", language)


# Which tracking sentence fits the fields present: (has carrier, has tracking URL) -> key.
_DELIVERY_SENTENCE: Mapping[tuple[bool, bool], str | None] = {
    (True, True): "order_status_carrier_tracking",
    (True, False): "order_status_carrier",
    (False, True): "order_status_tracking",
    (False, False): None,
}


def render_order_status(
    language: str,
    *,
    number: str,
    status: str,
    carrier: str | None = None,
    tracking_url: str | None = None,
    eta: str | None = None,
) -> str:
    """The full order-status answer, leaving out the sentences whose fields are missing.

    Args:
        language: the customer's language (English when it has no templates).
        number: the order number as the customer should see it.
        status: an order status from :data:`ORDER_STATUSES`.
        carrier: the carrier's name, if the order has shipped.
        tracking_url: the carrier's tracking link.
        eta: the expected delivery, already formatted for the customer.
    """
    parts = [render("order_status", language, number=number, status=status_label(status, language))]
    delivery = _DELIVERY_SENTENCE[(bool(carrier), bool(tracking_url))]
    if delivery is not None:
        parts.append(render(delivery, language, carrier=carrier or "", tracking_url=tracking_url or ""))
    if eta:
        parts.append(render("order_status_eta", language, eta=eta))
    return " ".join(parts)
